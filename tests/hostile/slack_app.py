"""The real Bolt app behind the real WSGI callable (`handlers.web.make_wsgi_app`), called in-process
with correctly signed requests: thousands of hostile payloads without a socket per request."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import time
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

from tests.handlers.conftest import SECRET


@dataclass
class Answer:
    status: int
    body: bytes


@dataclass
class SignedCaller:
    wsgi: WSGIApplication
    secret: str = SECRET

    def post(self, body: bytes, content_type: str, *, timestamp: int | None = None,
             extra: dict[str, str] | None = None) -> Answer:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = "v0=" + hmac.new(self.secret.encode(), b"v0:" + stamp.encode() + b":" + body,
                                     hashlib.sha256).hexdigest()
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "QUERY_STRING": "",
            "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
            "HTTP_X_SLACK_REQUEST_TIMESTAMP": stamp, "HTTP_X_SLACK_SIGNATURE": signature,
            **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (extra or {}).items()},
        }
        seen: list[str] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen.append(status)
            return lambda data: None

        chunks = self.wsgi(environ, start_response)
        return Answer(int(seen[0].split()[0]), b"".join(chunks))

    def json(self, payload: Any) -> Answer:
        return self.post(json.dumps(payload).encode(), "application/json")

    def form(self, fields: dict[str, str]) -> Answer:
        return self.post(urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded")

    def interaction(self, payload: Any) -> Answer:
        return self.form({"payload": json.dumps(payload)})
