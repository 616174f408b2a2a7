"""Serve the real Bolt app over HTTP (waitress on 127.0.0.1) against the fake Slack Web API and a real
Redis (DB 15, a fresh key prefix per test), and drive it with correctly signed Slack requests."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot.approval import Proposal
from bot.jobs import AnalyseJob, DecisionJob, JobEnvelope
from bot.queue import JobQueue
from bot.settings import Settings
from bot.store import Store
from handlers.app import build_app
from handlers.web import bound_port, create_server, make_wsgi_app
from tests.fakes.slack_api import FakeSlackApi

REDIS_URL = "redis://127.0.0.1:6379/15"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0PASTES01"
REQUESTER = "UREQUESTER"
APPROVER = "UAPPROVER1"
GROUP = "SAPPROVERS"
GROUP_MEMBER = "UGROUPMEM1"
BYSTANDER = "UBYSTANDER"
KEY_ARN = "arn:aws:kms:ap-northeast-1:123456789012:key/abc-123"
PASTE = (
    "An error occurred (AccessDeniedException) when calling the Decrypt operation: User: "
    "arn:aws:iam::123456789012:role/MyRole is not authorized to perform: kms:Decrypt on resource: "
    f"{KEY_ARN} because no resource-based policy allows the kms:Decrypt action"
)


@dataclass
class Reply:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Harness:
    base: str
    slack: FakeSlackApi
    redis: redis.Redis[bytes]
    queue: JobQueue
    store: Store
    secret: str = SECRET

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
                ) -> Reply:
        call = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(call, timeout=10) as answer:
                return Reply(answer.status, answer.read().decode(), dict(answer.headers))
        except urllib.error.HTTPError as refused:
            return Reply(refused.code, refused.read().decode(), dict(refused.headers))

    def signed(self, body: str, content_type: str, *, timestamp: int | None = None, secret: str | None = None,
               headers: dict[str, str] | None = None) -> Reply:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        base = f"v0:{stamp}:{body}".encode()
        signature = "v0=" + hmac.new((secret or self.secret).encode(), base, hashlib.sha256).hexdigest()
        all_headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp,
                       "X-Slack-Signature": signature, **(headers or {})}
        return self.request("POST", "/slack/events", body.encode(), all_headers)

    def event(self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None,
              **kwargs: Any) -> Reply:
        envelope = {"token": "legacy", "team_id": "T0FAKETEAM", "api_app_id": "AKMSWHY", "event": event,
                    "type": "event_callback", "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
                    "event_time": int(time.time()),
                    "authorizations": [{"team_id": "T0FAKETEAM", "user_id": self.slack.bot_user_id,
                                        "is_bot": True, "is_enterprise_install": False}]}
        headers = {}
        if retry_num:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return self.signed(json.dumps(envelope), "application/json", headers=headers, **kwargs)

    def command(self, text: str, *, user: str = REQUESTER, trigger_id: str | None = None) -> Reply:
        form = {"token": "legacy", "team_id": "T0FAKETEAM", "team_domain": "fake", "channel_id": CHANNEL,
                "channel_name": "pastes", "user_id": user, "user_name": "someone", "command": "/kms-why",
                "text": text, "api_app_id": "AKMSWHY", "response_url": self.slack.response_url("command"),
                "trigger_id": trigger_id or f"{uuid.uuid4().int % 10**10}.1.abc"}
        return self.signed(urllib.parse.urlencode(form), "application/x-www-form-urlencoded")

    def interaction(self, payload: dict[str, Any]) -> Reply:
        payload = {"token": "legacy", "api_app_id": "AKMSWHY", "team": {"id": "T0FAKETEAM", "domain": "fake"},
                   **payload}
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self.signed(body, "application/x-www-form-urlencoded")

    def jobs(self) -> list[AnalyseJob | DecisionJob]:
        entries = self.redis.xrange(self.queue.stream)
        return [JobEnvelope.model_validate_json(fields[b"job"]).job for _, fields in entries]


def message_event(text: str, *, ts: str = "1700000000.000100", user: str = REQUESTER, **extra: Any
                  ) -> dict[str, Any]:
    return {"type": "message", "channel": CHANNEL, "user": user, "text": text, "ts": ts, "event_ts": ts,
            "channel_type": "channel", **extra}


def proposal(**changes: Any) -> Proposal:
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "proposal_id": f"p-{uuid.uuid4().hex[:12]}", "analysis_id": "message:C0PASTES01:1700000000.000100",
        "key_arn": KEY_ARN, "region": "ap-northeast-1", "account": "123456789012", "requester_id": REQUESTER,
        "channel_id": CHANNEL, "thread_ts": "1700000000.000100", "created_at": now,
        "expires_at": now + timedelta(hours=1), "diff": '+ "Sid": "AllowMyRole"',
        "policy_after": {"Statement": []},
        "policy_sha256_before": "a" * 64, "policy_sha256_after": "b" * 64,
    }
    fields.update(changes)
    return Proposal(**fields)


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        fake.set_usergroup(GROUP, [GROUP_MEMBER])
        yield fake


@pytest.fixture
def redis_client() -> Iterator[redis.Redis[bytes]]:
    client: redis.Redis[bytes] = redis.Redis.from_url(REDIS_URL)
    client.ping()
    yield client
    client.close()


HarnessFactory = Callable[..., Harness]


@pytest.fixture
def make_harness(slack: FakeSlackApi, redis_client: redis.Redis[bytes]) -> Iterator[HarnessFactory]:
    prefixes: list[str] = []
    servers: list[tuple[Any, threading.Thread]] = []

    def start(*, redis_down: bool = False, **settings: str) -> Harness:
        prefix = f"t-handlers-{uuid.uuid4().hex[:10]}"
        prefixes.append(prefix)
        client = redis_client
        if redis_down:  # nothing listens there; no retries, so the test does not wait on backoff
            client = redis.Redis(port=_dead_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
        queue, store = JobQueue(client, prefix=prefix), Store(client, prefix=prefix)
        env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url,
               "KMS_WHY_APPROVERS": f"{APPROVER},{GROUP}", "KMS_WHY_CHANNELS": "", **settings}
        app = build_app(Settings(**env), queue, store)  # type: ignore[arg-type]
        wsgi = make_wsgi_app(app, queue, render_metrics=lambda: (b"kms_why_up 1\n", "text/plain"))
        server = create_server(wsgi, "127.0.0.1", 0, threads=4)
        loop = threading.Thread(target=server.run, daemon=True)
        loop.start()
        servers.append((server, loop))
        return Harness(f"http://127.0.0.1:{bound_port(server)}", slack, redis_client, queue, store)

    yield start
    for server, loop in servers:
        # Finish answers in flight, then close from inside the server's own loop so no thread polls a
        # closed socket.
        server.task_dispatcher.shutdown(timeout=5)
        server.trigger.pull_trigger(server.close)
        loop.join(timeout=5)
    for prefix in prefixes:
        keys = list(redis_client.scan_iter(match=f"{prefix}:*", count=500))
        if keys:
            redis_client.delete(*keys)


@pytest.fixture
def harness(make_harness: HarnessFactory) -> Harness:
    return make_harness()
