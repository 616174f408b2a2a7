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

import contextlib
import json
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from tests.fakes.slack_limits import block_problems, view_problems

JSON_FIELDS = ("blocks", "attachments", "metadata", "view")
RESPONSE_URL_METHOD = "response_url"


@dataclass(frozen=True)
class SlackCall:
    """One request the fake received. `params` merges query, form and JSON; JSON-string fields decoded."""

    method: str  # e.g. "chat.postMessage", or "response_url" for a post to a response_url
    params: dict[str, Any]
    token: str | None
    path: str
    at: float


@dataclass
class _Failure:
    status: int | None
    error: str | None
    retry_after: int
    times: int


@dataclass
class _State:
    calls: list[SlackCall] = field(default_factory=list)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # channel -> messages
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    failures: dict[str, list[_Failure]] = field(default_factory=dict)
    counter: int = 0


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
        self._state = _State()
        self._lock = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeSlackApi:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
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
            self._state.usergroups[usergroup_id] = list(user_ids)

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
            self._state.messages.setdefault(channel, []).append(message)
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
            self._state.failures.setdefault(method, []).append(_Failure(status, error, retry_after, times))

    def reset_calls(self) -> None:
        with self._lock:
            self._state.calls.clear()

    # --- inspection ------------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[SlackCall]:
        with self._lock:
            return [c for c in self._state.calls if method is None or c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[SlackCall]:
        """Block until at least `count` calls of `method` arrived; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [c for c in self._state.calls if c.method == method]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = sorted({c.method for c in self._state.calls})
                    raise AssertionError(f"{len(found)} {method} call(s) after {timeout}s, wanted {count}; "
                                         f"methods seen: {seen}")
                self._lock.wait(left)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Every message in the channel (seeded and posted), oldest first, as currently shown."""
        with self._lock:
            return [json.loads(json.dumps(m)) for m in sorted(self._messages(channel), key=_ts_key)]

    def bot_messages(self, channel: str, thread_ts: str | None = None) -> list[dict[str, Any]]:
        return [
            m for m in self.messages(channel)
            if m.get("bot_id") == self.bot_id and (thread_ts is None or m.get("thread_ts") == thread_ts)
        ]

    def ephemerals(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._state.ephemerals]

    def opened_views(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(v) for v in self._state.views]

    # --- request handling (called from the server threads) ---------------------------------------

    def _messages(self, channel: str) -> list[dict[str, Any]]:
        return self._state.messages.setdefault(channel, [])

    def _next_ts(self) -> str:
        self._state.counter += 1
        return f"1800000000.{self._state.counter:06d}"

    def _record(self, call: SlackCall) -> _Failure | None:
        with self._lock:
            self._state.calls.append(call)
            self._lock.notify_all()
            queued = self._state.failures.get(call.method)
            if not queued:
                return None
            failure = queued[0]
            failure.times -= 1
            if failure.times <= 0:
                queued.pop(0)
            return failure

    def _answer(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if not token:
            return {"ok": False, "error": "not_authed"}
        if self._tokens is not None and token not in self._tokens:
            return {"ok": False, "error": "invalid_auth"}
        answer = _METHODS.get(method)
        if answer is None:
            return {"ok": False, "error": "unknown_method"}
        with self._lock:
            return answer(self, params)

    # --- the methods -----------------------------------------------------------------------------

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://fake.slack.com/", "team": "Fake", "user": "kms-why",
                "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
                "is_enterprise_install": False}

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        problem = _content_problem(params)
        if problem:
            return problem
        message: dict[str, Any] = {
            "type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, "app_id": "AKMSWHY",
            "team": self.team_id, "text": params.get("text", ""), "ts": self._next_ts(),
        }
        for key in ("blocks", "attachments", "metadata"):
            if params.get(key):
                message[key] = params[key]
        if params.get("thread_ts"):
            message["thread_ts"] = str(params["thread_ts"])
        self._messages(channel).append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": _public(message, True)}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel"), params.get("ts")
        target = next((m for m in self._messages(str(channel)) if m["ts"] == ts), None)
        if target is None:
            return {"ok": False, "error": "message_not_found"}
        if target.get("bot_id") != self.bot_id:
            return {"ok": False, "error": "cant_update_message"}
        problem = _content_problem(params)
        if problem:
            return problem
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in params:
                target[key] = params[key]
        target["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {"ok": True, "channel": channel, "ts": ts, "text": target.get("text", ""),
                "message": _public(target, True)}

    def _post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not params.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        problem = _content_problem(params)
        if problem:
            return problem
        ts = self._next_ts()
        self._state.ephemerals.append({**params, "message_ts": ts})
        return {"ok": True, "message_ts": ts}

    def _permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(params.get("channel", "")), str(params.get("message_ts", ""))
        if not channel or not ts:
            return {"ok": False, "error": "invalid_arguments"}
        link = f"https://fake.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(params.get("channel", "")), str(params.get("ts", ""))
        thread = [m for m in self._messages(channel) if m["ts"] == ts or m.get("thread_ts") == ts]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        return self._page(sorted(thread, key=_ts_key), params)

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        top = [m for m in self._messages(channel) if m.get("thread_ts") in (None, m["ts"])]
        return self._page(sorted(top, key=_ts_key, reverse=True), params)

    def _page(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        start = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or 100)
        page = messages[start : start + limit]
        more = start + limit < len(messages)
        with_metadata = _truthy(params.get("include_all_metadata"))
        return {"ok": True, "messages": [_public(m, with_metadata) for m in page], "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        if not params.get("trigger_id") or not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        problems = view_problems(view)
        if problems:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": problems}}
        opened = {**view, "id": f"V{len(self._state.views) + 1:08d}", "team_id": self.team_id,
                  "state": {"values": {}}, "hash": f"{time.time():.6f}", "root_view_id": None,
                  "trigger_id": params["trigger_id"]}
        opened.setdefault("private_metadata", "")
        opened.setdefault("callback_id", "")
        self._state.views.append(opened)
        return {"ok": True, "view": opened}

    def _usergroup_users(self, params: dict[str, Any]) -> dict[str, Any]:
        users = self._state.usergroups.get(str(params.get("usergroup", "")))
        if users is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(users)}


_METHODS = {
    "auth.test": FakeSlackApi._auth_test,
    "chat.postMessage": FakeSlackApi._post_message,
    "chat.update": FakeSlackApi._update,
    "chat.postEphemeral": FakeSlackApi._post_ephemeral,
    "chat.getPermalink": FakeSlackApi._permalink,
    "conversations.replies": FakeSlackApi._replies,
    "conversations.history": FakeSlackApi._history,
    "views.open": FakeSlackApi._views_open,
    "usergroups.users.list": FakeSlackApi._usergroup_users,
}


def _ts_key(message: dict[str, Any]) -> float:
    return float(message["ts"])


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _public(message: dict[str, Any], with_metadata: bool) -> dict[str, Any]:
    shown = json.loads(json.dumps(message))
    if not with_metadata:
        shown.pop("metadata", None)
    return dict(shown)


def _content_problem(params: dict[str, Any]) -> dict[str, Any] | None:
    text, blocks = params.get("text"), params.get("blocks")
    if not text and not blocks and not params.get("attachments"):
        return {"ok": False, "error": "no_text"}
    if text and len(str(text)) > 40000:
        return {"ok": False, "error": "msg_too_long"}
    if blocks is not None:
        problems = block_problems(blocks, limit=50)
        if problems:
            return {"ok": False, "error": "invalid_blocks", "response_metadata": {"messages": problems}}
    return None


def _handler_for(fake: FakeSlackApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            path = urllib.parse.urlsplit(self.path)
            params = _read_params(self, path.query)
            token = _token(self.headers.get("Authorization"), params)
            if path.path.startswith("/response/"):
                failure = fake._record(SlackCall(RESPONSE_URL_METHOD, params, token, path.path, time.time()))
                if failure is not None and failure.status:
                    self._send(failure.status, b"", "text/plain", failure.retry_after)
                else:
                    self._send(200, b"ok", "text/plain")
                return
            if not path.path.startswith("/api/"):
                self._send(404, b"not found", "text/plain")
                return
            method = path.path[len("/api/") :]
            failure = fake._record(SlackCall(method, params, token, path.path, time.time()))
            if failure is not None and failure.status:
                body = json.dumps({"ok": False, "error": "ratelimited"}) if failure.status == 429 else ""
                self._send(failure.status, body.encode(), "application/json", failure.retry_after)
                return
            answer = {"ok": False, "error": failure.error} if failure else fake._answer(method, params, token)
            self._send(200, json.dumps(answer).encode(), "application/json; charset=utf-8")

        def _send(self, status: int, body: bytes, kind: str, retry_after: int | None = None) -> None:
            self.send_response(status, HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_
                               else "")
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if status == 429 and retry_after is not None:
                self.send_header("Retry-After", str(retry_after))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _read_params(request: BaseHTTPRequestHandler, query: str) -> dict[str, Any]:
    params: dict[str, Any] = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    length = int(request.headers.get("Content-Length") or 0)
    raw = request.rfile.read(length) if length else b""
    kind = (request.headers.get("Content-Type") or "").split(";")[0].strip()
    if raw and kind == "application/json":
        body = json.loads(raw)
        if isinstance(body, dict):
            params.update(body)
    elif raw:
        params.update(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))
    for key in JSON_FIELDS:
        if isinstance(params.get(key), str) and params[key]:
            with contextlib.suppress(json.JSONDecodeError):
                params[key] = json.loads(params[key])
    return params


def _token(header: str | None, params: dict[str, Any]) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip() or None
    token = params.pop("token", None)
    return str(token) if token else None


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
