"""One app for the whole module: the real Bolt app on Redis DB 15 (a key prefix of its own, removed
afterwards) and the fake Slack Web API, driven through `SignedCaller`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
import redis

from bot.queue import JobQueue
from bot.settings import Settings
from bot.store import Store
from handlers.app import build_app
from handlers.web import make_wsgi_app
from tests.fakes.slack_api import FakeSlackApi
from tests.handlers.conftest import APPROVER, GROUP, GROUP_MEMBER, REDIS_URL, SECRET
from tests.hostile.slack_app import SignedCaller


class ListenerFailures(logging.Handler):
    """Error records from the app's error handler: a listener that raised on a payload."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def fake_slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        fake.set_usergroup(GROUP, [GROUP_MEMBER])
        yield fake


@pytest.fixture(scope="module")
def app_store() -> Iterator[tuple[JobQueue, Store]]:
    client: redis.Redis[bytes] = redis.Redis.from_url(REDIS_URL)
    prefix = f"t-hostile-{uuid.uuid4().hex[:10]}"
    yield JobQueue(client, prefix=prefix), Store(client, prefix=prefix)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="module")
def caller(fake_slack: FakeSlackApi, app_store: tuple[JobQueue, Store]) -> SignedCaller:
    queue, store = app_store
    settings = Settings(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET,
                        SLACK_API_URL=fake_slack.url, KMS_WHY_APPROVERS=f"{APPROVER},{GROUP}")
    app = build_app(settings, queue, store)
    return SignedCaller(make_wsgi_app(app, queue, render_metrics=lambda: (b"", "text/plain")))


@pytest.fixture(scope="module")
def failures() -> Iterator[ListenerFailures]:
    handler = ListenerFailures()
    logging.getLogger("handlers").addHandler(handler)
    yield handler
    logging.getLogger("handlers").removeHandler(handler)
