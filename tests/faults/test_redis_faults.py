"""Redis failing under the bot: restarted (killed and started again) in the middle of a burst, and
unreachable for 30 seconds. The test runs its own redis-server with the append-only file fsynced on
every write, which is what "nothing accepted is lost" needs from a production Redis (a Redis without
persistence that restarts forgets every queued job). Events that reach the web process while Redis is
away get a 5xx; the test then re-sends them the way Slack does (same event_id, X-Slack-Retry-Num)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Stack, http
from tests.fakes.slack_api import FakeSlackApi
from tests.faults.helpers import paste_threads, report, wait_all_final
from tests.faults.throwaway_redis import ThrowawayRedis

pytestmark = pytest.mark.e2e


@pytest.fixture
def own_redis(tmp_path: Path, stack: Stack) -> Iterator[ThrowawayRedis]:
    data = tmp_path / "redis"
    data.mkdir()
    server = ThrowawayRedis(data).start()
    stack.env["REDIS_URL"] = server.url
    yield server
    server.kill()


def _deliver(stack: Stack, paste: str, ts: str, event_id: str, retry: int | None) -> int:
    try:
        return stack.message_event(paste, ts=ts, event_id=event_id, retry_num=retry).status
    except OSError:  # the web process did not answer at all: Slack counts that as a failure too
        return 599


def _slack_retries(stack: Stack, paste: str, refused: dict[str, tuple[str, int]]) -> dict[str, int]:
    """Re-deliver each refused event once more (Slack retries up to 3 times); the new statuses."""
    statuses: dict[str, int] = {}
    for ts, (event_id, retry) in refused.items():
        statuses[ts] = _deliver(stack, paste, ts, event_id, retry)
        refused[ts] = (event_id, retry + 1)
    return statuses


def test_redis_killed_and_restarted_in_the_middle_of_a_burst(
    stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str], own_redis: ThrowawayRedis
) -> None:
    stack.start_both()
    paste = scenarios["missing-root-delegation"]
    threads = paste_threads(slack, paste, 12, base=1700400000)
    accepted: set[str] = set()
    refused: dict[str, tuple[str, int]] = {}
    for i, ts in enumerate(threads):
        if i == 6:
            own_redis.kill()
        if i == 8:
            own_redis.start()
        status = _deliver(stack, paste, ts, f"EvBurst-{i}", None)
        if 200 <= status < 300:
            accepted.add(ts)
        else:
            assert status >= 500
            refused[ts] = (f"EvBurst-{i}", 1)
    assert len(accepted) >= 8 and len(refused) >= 1  # the restart did refuse events while Redis was away
    refused_first = len(refused)
    for _ in range(3):  # Slack's three retries
        if not refused:
            break
        time.sleep(1.0)
        for ts, status in _slack_retries(stack, paste, refused).items():
            if 200 <= status < 300:
                accepted.add(ts)
                del refused[ts]
    assert refused == {}
    result = wait_all_final(slack, threads, timeout=90)
    report("redis SIGKILL+restart mid-burst (AOF always)", result, sent=len(threads),
           refused_then_retried=refused_first)
    assert (result.lost, result.duplicated) == (0, 0)
    assert len(slack.calls("chat.postMessage")) == len(threads)
    assert own_redis.client().xlen("kms-why:jobs") == 0


def test_redis_unreachable_for_30_seconds(
    stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str], own_redis: ThrowawayRedis
) -> None:
    stack.start_both()
    paste = scenarios["missing-root-delegation"]
    threads = paste_threads(slack, paste, 6, base=1700400100)
    before, during = threads[:3], threads[3:]
    for i, ts in enumerate(before):  # accepted just before the outage: queued or in flight when it starts
        assert _deliver(stack, paste, ts, f"EvOutage-{i}", None) == 200
    own_redis.kill()
    down_at = time.monotonic()
    refused: dict[str, tuple[str, int]] = {}
    for i, ts in enumerate(during, start=len(before)):
        assert _deliver(stack, paste, ts, f"EvOutage-{i}", None) >= 500
        refused[ts] = (f"EvOutage-{i}", 1)
    assert http(stack.web_url + "/readyz").status == 503
    time.sleep(10)
    assert all(s >= 500 for s in _slack_retries(stack, paste, refused).values())  # Slack's 1st retry
    time.sleep(max(0.0, 30 - (time.monotonic() - down_at)))
    own_redis.start()
    assert all(200 <= s < 300 for s in _slack_retries(stack, paste, refused).values())  # the 2nd retry
    assert http(stack.web_url + "/readyz").status == 200
    result = wait_all_final(slack, threads, timeout=90)
    report("redis down 30 s", result, sent=len(threads), refused_then_retried=len(during),
           outage_seconds=round(30.0, 1))
    assert (result.lost, result.duplicated) == (0, 0)
    assert len(slack.calls("chat.postMessage")) == len(threads)
