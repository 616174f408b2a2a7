"""Fixtures for the end-to-end tests: Redis DB 14 flushed per test, the seeded moto world, the fake
Slack Web API, and a `Stack` whose processes are killed after each test (their logs are printed when
the test fails)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.demo.world import World
from tests.e2e.harness import APPROVER, APPROVER_2, BOT_TOKEN, REDIS_URL, REQUESTER, SIGNING_SECRET, Stack
from tests.fakes.slack_api import FakeSlackApi


@pytest.fixture
def e2e_redis() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as problem:  # pragma: no cover - environment problem, not a test result
        pytest.fail(f"the end-to-end tests need Redis at {REDIS_URL}: {problem}")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    fake = FakeSlackApi(tokens=[BOT_TOKEN]).start()
    yield fake
    fake.stop()


@pytest.fixture
def scenarios(world: World) -> dict[str, str]:
    """Every demo scenario seeded in a fresh moto world: scenario name -> the pasted error text."""
    from bot.demo.scenarios import seed

    pairs, org_reader = seed(world)
    texts = {scenario.name: text for scenario, text in pairs}
    texts["__org_reader__"] = org_reader
    return texts


@pytest.fixture
def stack(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    world: World,
    slack: FakeSlackApi,
    e2e_redis: redis.Redis,
    scenarios: dict[str, str],
) -> Iterator[Stack]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
        **world.environ(),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.url,
        "REDIS_URL": REDIS_URL,
        # The requester is an approver too: being the requester alone must be enough to be refused.
        "KMS_WHY_APPROVERS": f"{APPROVER},{APPROVER_2},{REQUESTER}",
        "KMS_WHY_ORG_ROLE_ARN": scenarios["__org_reader__"],
        "KMS_WHY_REDELIVER_IDLE_SECONDS": "2",
        "KMS_WHY_RETRY_BASE_SECONDS": "0.05",
        "KMS_WHY_HEARTBEAT_FILE": str(tmp_path / "worker.heartbeat"),
        "KMS_WHY_LOG_LEVEL": "INFO",
    }
    running = Stack(env=env, logs=tmp_path)
    yield running
    running.stop_all()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(running.dump())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if call.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
