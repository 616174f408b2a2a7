"""A small fake of the Slack Web API for tests: a real HTTP server on 127.0.0.1, in a thread.

Point a process at it with `SLACK_API_URL=<fake.url>` (`http://127.0.0.1:<port>/api/`). It answers the
methods kms-why uses with the shapes Slack documents, keeps the messages it was asked to post so that
`conversations.replies` / `conversations.history` / `chat.update` behave like a workspace, records every
call (`calls()`, `wait_for()`), and can be told to fail (`fail()`: 429 with Retry-After, a 5xx, or an
`ok: false` error such as `invalid_auth`).

    with FakeSlackApi() as slack:
        slack.set_usergroup("S123", ["U1", "U2"])
        run_the_process(env={"SLACK_API_URL": slack.url})
        posts = slack.wait_for("chat.postMessage")

It also validates Block Kit limits (50 blocks, 3000-character texts, ...) the way Slack refuses them
(`invalid_blocks`), so an over-long rendering fails a test rather than production.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any

from tests.fakes.slack_http import RESPONSE_URL_METHOD, Failure, SlackCall, handler_for
from tests.fakes.slack_workspace import Workspace

__all__ = ["RESPONSE_URL_METHOD", "FakeSlackApi", "SlackCall", "iter_texts"]


class FakeSlackApi:
    """The fake workspace. Thread-safe; start() binds a free port on 127.0.0.1."""

    def __init__(
        self,
        *,
        bot_user_id: str = "UKMSWHYBOT",
        bot_id: str = "BKMSWHYBOT",
        team_id: str = "T0FAKETEAM",
        tokens: Iterable[str] | None = None,
    ) -> None:
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_id = team_id
        self._tokens = frozenset(tokens) if tokens is not None else None
        self._workspace = Workspace(bot_user_id=bot_user_id, bot_id=bot_id, team_id=team_id)
        self._calls: list[SlackCall] = []
        self._failures: dict[str, list[Failure]] = {}
        self._lock = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeSlackApi:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="fake-slack-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSlackApi:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The value for SLACK_API_URL (with the trailing /api/)."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, key: str = "cmd") -> str:
        """A response_url for a slash command or interaction payload; posts to it are recorded."""
        return f"http://127.0.0.1:{self.port}/response/{urllib.parse.quote(key)}"

    # --- set-up ----------------------------------------------------------------------------------

    def set_usergroup(self, usergroup_id: str, user_ids: Iterable[str]) -> None:
        with self._lock:
            self._workspace.usergroups[usergroup_id] = list(user_ids)

    def add_message(
        self,
        channel: str,
        ts: str,
        text: str,
        *,
        user: str = "UHUMAN0001",
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Seed a message (e.g. the paste an event refers to) so that threads and permalinks find it."""
        message: dict[str, Any] = {
            "type": "message", "user": user, "text": text, "ts": ts, "team": self.team_id,
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        if metadata:
            message["metadata"] = metadata
        with self._lock:
            self._workspace.channel(channel).append(message)
        return dict(message)

    def fail(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: int = 1,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail: `status=429` (with Retry-After), another HTTP
        status such as 503, or `error="invalid_auth"` (HTTP 200, `ok: false`)."""
        if status is None and error is None:
            raise ValueError("give a status or an error")
        with self._lock:
            self._failures.setdefault(method, []).append(Failure(status, error, retry_after, times))

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    # --- inspection ------------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[SlackCall]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[SlackCall]:
        """Block until at least `count` calls of `method` arrived; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [c for c in self._calls if c.method == method]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = sorted({c.method for c in self._calls})
                    raise AssertionError(f"{len(found)} {method} call(s) after {timeout}s, wanted {count}; "
                                         f"methods seen: {seen}")
                self._lock.wait(left)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Every message in the channel (seeded and posted), oldest first, as currently shown."""
        with self._lock:
            shown = sorted(self._workspace.channel(channel), key=lambda m: float(m["ts"]))
            return [json.loads(json.dumps(m)) for m in shown]

    def bot_messages(self, channel: str, thread_ts: str | None = None) -> list[dict[str, Any]]:
        return [
            m for m in self.messages(channel)
            if m.get("bot_id") == self.bot_id and (thread_ts is None or m.get("thread_ts") == thread_ts)
        ]

    def ephemerals(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._workspace.ephemerals]

    def opened_views(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(v) for v in self._workspace.views]

    # --- called by the HTTP handler (slack_http) -------------------------------------------------

    def record(self, call: SlackCall) -> Failure | None:
        """Keep the call; the failure it was told to answer with, if any."""
        with self._lock:
            self._calls.append(call)
            self._lock.notify_all()
            queued = self._failures.get(call.method)
            if not queued:
                return None
            failure = queued[0]
            failure.times -= 1
            if failure.times <= 0:
                queued.pop(0)
            return failure

    def answer(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if not token:
            return {"ok": False, "error": "not_authed"}
        if self._tokens is not None and token not in self._tokens:
            return {"ok": False, "error": "invalid_auth"}
        with self._lock:
            return self._workspace.answer(method, params)


def iter_texts(blocks: Any) -> Iterator[str]:
    """Every text string inside Block Kit blocks (for assertions on what a message shows)."""
    if isinstance(blocks, dict):
        for key, value in blocks.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from iter_texts(value)
    elif isinstance(blocks, list):
        for item in blocks:
            yield from iter_texts(item)
