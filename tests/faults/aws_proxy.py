"""A fault-injecting HTTP proxy in front of moto's server, on loopback.

The worker is a real process, so botocore event hooks in the test process cannot reach its clients.
Instead its `AWS_ENDPOINT_URL` points here: every request is forwarded to moto unchanged, except the
ones a rule picks, which get the error response AWS itself sends (`ThrottlingException` in the JSON
protocol of KMS, CloudTrail and Organizations; `Throttling` in the query protocol of IAM and STS; a 5xx;
an access denial). Requests are matched on the service named in the SigV4 credential scope and on the
operation (`X-Amz-Target` or the query `Action`), so the worker's botocore sees exactly what it would
see from AWS, retries included.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Fault = Literal["throttle", "unavailable", "denied"]
JSON_SERVICES = frozenset({"kms", "cloudtrail", "organizations"})
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


@dataclass
class Rule:
    service: str  # "kms", "iam", "sts", "organizations", "cloudtrail" or "*"
    operation: str  # e.g. "GetKeyPolicy", or "*"
    fault: Fault
    times: int | None  # None: every matching call; else the first `times` calls of each operation
    when: str | None = None  # only requests whose body contains this text (e.g. a role name)
    used: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    service: str
    operation: str
    status: int
    injected: bool


@dataclass
class FaultyAws:
    upstream: str  # moto's endpoint, e.g. http://127.0.0.1:5000
    rules: list[Rule] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    # Answers given here instead of moto, for operations moto lacks (CloudTrail LookupEvents).
    answers: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def inject(
        self,
        service: str,
        operation: str = "*",
        *,
        fault: Fault,
        times: int | None = None,
        when: str | None = None,
    ) -> None:
        with self._lock:
            self.rules.append(Rule(service, operation, fault, times, when))

    def answer(self, service: str, operation: str, body: dict[str, Any]) -> None:
        """Answer this operation with `body` (JSON protocol) when no fault is injected."""
        with self._lock:
            self.answers[(service, operation)] = body

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def injected(self, service: str | None = None) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.injected and (service is None or s.service == service)]

    def services_called(self) -> set[str]:
        with self._lock:
            return {s.service for s in self.seen}

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultyAws:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _pick(self, service: str, operation: str, body: bytes) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.service not in ("*", service) or rule.operation not in ("*", operation):
                    continue
                if rule.when is not None and rule.when.encode() not in body:
                    continue
                already = rule.used.get((service, operation), 0)
                if rule.times is not None and already >= rule.times:
                    continue
                rule.used[(service, operation)] = already + 1
                return rule
        return None

    def _note(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)


def _operation(headers: Any, body: bytes) -> str:
    target = headers.get("X-Amz-Target")
    if target:
        return str(target).rsplit(".", 1)[-1]
    form = urllib.parse.parse_qs(body.decode(errors="replace"))
    return (form.get("Action") or ["?"])[0]


def _error(service: str, fault: Fault) -> tuple[int, bytes, str]:
    """The status, body and content type AWS answers with for this fault."""
    if fault == "throttle":
        status, json_code, query_code, message = 400, "ThrottlingException", "Throttling", "Rate exceeded"
    elif fault == "unavailable":
        status, json_code, query_code = 503, "ServiceUnavailableException", "ServiceUnavailable"
        message = "Service is temporarily unavailable"
        if service == "kms":
            status, json_code = 500, "KMSInternalException"
    else:
        status, json_code, query_code = (400, "AccessDeniedException", "AccessDenied")
        message = "injected: not authorized"
        if service in ("iam", "sts"):
            status = 403
    if service in JSON_SERVICES:
        body = json.dumps({"__type": json_code, "message": message}).encode()
        return status, body, "application/x-amz-json-1.1"
    xml = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{query_code}</Code><Message>{message}</Message>"
        "</Error><RequestId>injected-0000</RequestId></ErrorResponse>"
    )
    return status, xml.encode(), "text/xml"


def _handler(proxy: FaultyAws) -> type[BaseHTTPRequestHandler]:
    upstream = urllib.parse.urlsplit(proxy.upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            self._serve()

        def do_GET(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            scope = _SCOPE.search(self.headers.get("Authorization") or "")
            service = scope[1] if scope else "?"
            operation = _operation(self.headers, body)
            rule = proxy._pick(service, operation, body)
            if rule is not None:
                status, payload, kind = _error(service, rule.fault)
                proxy._note(Seen(service, operation, status, True))
                headers = [("Content-Type", kind), ("x-amzn-RequestId", "injected-0000")]
                self._send(status, payload, headers)
                return
            host = upstream.hostname or "127.0.0.1"
            canned = proxy.answers.get((service, operation))
            if canned is not None:
                proxy._note(Seen(service, operation, 200, False))
                self._send(200, json.dumps(canned).encode(), [("Content-Type", "application/x-amz-json-1.1")])
                return
            connection = http.client.HTTPConnection(host, upstream.port, timeout=30)
            try:
                forwarded = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                connection.request(self.command, self.path, body=body, headers=forwarded)
                response = connection.getresponse()
                payload = response.read()
                passed = [
                    (k, v)
                    for k, v in response.getheaders()
                    if k.lower() not in ("content-length", "connection", "transfer-encoding")
                ]
                proxy._note(Seen(service, operation, response.status, False))
                self._send(response.status, payload, passed)
            finally:
                connection.close()

        def _send(self, status: int, payload: bytes, headers: list[tuple[str, str]]) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler
