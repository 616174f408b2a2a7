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
def e2e_redis(e2e_exclusive: None) -> Iterator[redis.Redis]:
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


WANTED_SCENARIOS = ("missing-root-delegation", "cross-account-key-policy")


@pytest.fixture
def scenarios(world: World, stack: Stack) -> dict[str, str]:
    """The demo scenarios these tests use, seeded in a fresh moto world: name -> the pasted error text.

    Seeded the way `bot.demo.scenarios.seed` does (service roles, organization, org reader role), but
    only the scenarios used here, to keep the suite quick. The org reader role goes into the stack's env.
    """
    from bot.demo.scenarios import APP, DATA, MANAGEMENT, SANDBOX, SCENARIOS

    for account in (APP, DATA, SANDBOX, MANAGEMENT):
        world.account(account).create_service_roles()
    org = world.organization(MANAGEMENT)
    stack.env["KMS_WHY_ORG_ROLE_ARN"] = org.create_org_reader_role()
    for account, name in ((APP, "app"), (DATA, "data")):
        org.add_account(account, name=name)
    return {s.name: s.setup(world, org) for s in SCENARIOS if s.name in WANTED_SCENARIOS}


@pytest.fixture
def stack(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    world: World,
    slack: FakeSlackApi,
    e2e_redis: redis.Redis,
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
