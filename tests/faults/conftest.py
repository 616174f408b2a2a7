"""Fixtures for the fault tests: the end-to-end stack of `tests/e2e` (real web and worker processes,
Redis DB 14, moto, the fake Slack API), plus a fault-injecting proxy in front of moto."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.demo.world import World
from tests.e2e.conftest import (  # noqa: F401  (fixtures shared with the end-to-end tests)
    e2e_redis,
    pytest_runtest_makereport,
    scenarios,
    slack,
)
from tests.e2e.conftest import stack as stack  # the fixture; also its name in the signature below
from tests.e2e.harness import Stack
from tests.faults.aws_proxy import FaultyAws


@pytest.fixture
def faulty_aws(world: World, stack: Stack) -> Iterator[FaultyAws]:
    """The worker reaches moto only through this proxy; the test seeds the world directly."""
    proxy = FaultyAws(upstream=world.endpoint_url).start()
    stack.env["AWS_ENDPOINT_URL"] = proxy.url
    yield proxy
    proxy.stop()
