"""The HTTP side of the fake Slack Web API: parameters from query, form or JSON, the token, the answer."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.parse
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.slack_api import FakeSlackApi

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
class Failure:
    """How the next `times` calls of a method fail: an HTTP status, or an `ok: false` error."""

    status: int | None
    error: str | None
    retry_after: int
    times: int


def handler_for(fake: FakeSlackApi) -> type[BaseHTTPRequestHandler]:
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
                failure = fake.record(SlackCall(RESPONSE_URL_METHOD, params, token, path.path, time.time()))
                if failure is not None and failure.status:
                    self._send(failure.status, b"", "text/plain", failure.retry_after)
                else:
                    self._send(200, b"ok", "text/plain")
                return
            if not path.path.startswith("/api/"):
                self._send(404, b"not found", "text/plain")
                return
            method = path.path[len("/api/") :]
            failure = fake.record(SlackCall(method, params, token, path.path, time.time()))
            if failure is not None and failure.status:
                body = json.dumps({"ok": False, "error": "ratelimited"}) if failure.status == 429 else ""
                self._send(failure.status, body.encode(), "application/json", failure.retry_after)
                return
            answer = {"ok": False, "error": failure.error} if failure else fake.answer(method, params, token)
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
