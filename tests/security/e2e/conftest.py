"""The end-to-end fixtures (real `kms-why web` and `kms-why worker`, Redis DB 14, moto, the fake Slack),
reused as is, except that the fake Slack accepts only this suite's distinctive bot token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import (  # noqa: F401
    e2e_redis,
    pytest_runtest_makereport,
    scenarios,
    stack,
)
from tests.fakes.slack_api import FakeSlackApi
from tests.security.e2e.secrets import BOT_TOKEN


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    fake = FakeSlackApi(tokens=[BOT_TOKEN]).start()
    yield fake
    fake.stop()
