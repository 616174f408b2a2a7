"""Faults on the Slack side: the Web API answering 429 with Retry-After, 5xx and `invalid_auth` to the
worker's chat.postMessage / chat.update; and Slack delivering every event four times (the original and
`X-Slack-Retry-Num` 1..3, same event_id). Each: nothing accepted lost, nothing answered twice."""

from __future__ import annotations

import time

import pytest
import redis

from bot.store import Store
from tests.e2e.harness import CHANNEL, Stack, free_port, wait_until
from tests.fakes.slack_api import FakeSlackApi
from tests.faults.helpers import metric, paste_threads, report, send_events, tally, wait_all_final

pytestmark = pytest.mark.e2e


def test_slack_429_with_retry_after_is_waited_out_and_answered_once(
    stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str]
) -> None:
    stack.start_both()
    paste = scenarios["missing-root-delegation"]
    threads = paste_threads(slack, paste, 3, base=1700100000)
    slack.fail("chat.postMessage", status=429, retry_after=1, times=3)
    slack.fail("chat.update", status=429, retry_after=1, times=3)
    assert set(send_events(stack, paste, threads, prefix="Ev429-").values()) == {200}
    result = wait_all_final(slack, threads, timeout=60)
    report("slack 429 Retry-After:1 x3 postMessage, x3 update", result)
    assert (result.lost, result.duplicated) == (0, 0)
    posts = slack.calls("chat.postMessage")
    assert len(posts) == 3 + 3  # three refused with 429, then one per thread
    refused_at = posts[2].at
    assert posts[3].at - refused_at >= 0.9  # Retry-After: 1 was honoured


def test_slack_5xx_is_retried_with_backoff_and_answered_once(
    stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str]
) -> None:
    stack.start_both()
    paste = scenarios["missing-root-delegation"]
    threads = paste_threads(slack, paste, 3, base=1700100100)
    slack.fail("chat.postMessage", status=503, times=2)
    slack.fail("chat.update", status=500, times=2)
    assert set(send_events(stack, paste, threads, prefix="Ev5xx-").values()) == {200}
    result = wait_all_final(slack, threads, timeout=60)
    report("slack 503 x2 postMessage, 500 x2 update", result)
    assert (result.lost, result.duplicated) == (0, 0)
    assert len(slack.calls("chat.postMessage")) == 2 + 3


def test_slack_invalid_auth_dead_letters_the_job_loudly(
    stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str], e2e_redis: redis.Redis[bytes]
) -> None:
    port = free_port()
    _, worker = stack.start_both(KMS_WHY_WORKER_METRICS_PORT=str(port))
    paste = scenarios["missing-root-delegation"]
    [thread] = paste_threads(slack, paste, 1, base=1700100200)
    slack.fail("chat.postMessage", error="invalid_auth", times=1000)
    slack.fail("chat.update", error="invalid_auth", times=1000)
    assert send_events(stack, paste, [thread], prefix="EvAuth-") == {thread: 200}
    store = Store(e2e_redis)
    wait_until(lambda: len(store.dead_letters()) == 1, timeout=30, what="a dead letter")
    [dead] = store.dead_letters()
    assert dead.job_id == f"message:{CHANNEL}:{thread}"
    assert "invalid_auth" in dead.error
    assert tally(slack, [thread]).messages == {thread: 0}  # Slack refused everything: no message at all
    dead_letters = len(store.dead_letters())
    print(f"\nFAULT-RESULT slack invalid_auth: accepted=1 dead_letters={dead_letters}", flush=True)
    wait_until(lambda: "invalid_auth" in worker.output(), timeout=5, what="invalid_auth in the log")
    assert metric(port, "kms_why_slack_api_errors_total", error="invalid_auth") >= 1
    assert metric(port, "kms_why_jobs_total", kind="analyse", outcome="dead") == 1
    assert metric(port, "kms_why_analyses_total", outcome="failed") == 1
    assert e2e_redis.xlen("kms-why:jobs") == 0  # acknowledged: it is in the dead letters, not looping
    time.sleep(1.0)
    assert len(store.dead_letters()) == 1


def test_every_event_delivered_four_times_is_answered_once(
    stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str]
) -> None:
    stack.start_both()
    paste = scenarios["missing-root-delegation"]
    threads = paste_threads(slack, paste, 5, base=1700100300)
    statuses = []
    for retry in (None, 1, 2, 3):
        for i, ts in enumerate(threads):
            reply = stack.message_event(paste, ts=ts, event_id=f"EvTwice-{i}", retry_num=retry)
            statuses.append(reply.status)
    assert all(200 <= s < 300 for s in statuses)
    result = wait_all_final(slack, threads, timeout=60)
    report("slack delivers every event 4 times", result, deliveries=len(statuses))
    assert (result.lost, result.duplicated) == (0, 0)
    assert len(slack.calls("chat.postMessage")) == 5
