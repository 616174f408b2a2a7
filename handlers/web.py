"""The HTTP adapter: Slack's one path, health, readiness and metrics, served by waitress.

waitress: a pure-Python production WSGI server (thread pool, no C build, behaves the same on every
platform) that is plenty for a process whose every request is a parse and one Redis round trip.

    POST /slack/events   events, slash commands, interactivity (Bolt verifies the signature: 401)
    GET  /healthz        the process answers
    GET  /readyz         Redis answers (503 when not: take the pod out of rotation)
    GET  /metrics        Prometheus text
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltRequest, BoltResponse

from bot.settings import Settings
from handlers.deps import JobSink

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from waitress.server import BaseWSGIServer

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY = 1 << 20  # Slack's payloads are far smaller; anything bigger is not from Slack
MetricsRenderer = Callable[[], tuple[bytes, str]]


def _default_metrics() -> tuple[bytes, str]:
    from bot.metrics import render_latest

    return render_latest()


def _status(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Unknown"


def _headers(environ: WSGIEnvironment) -> dict[str, str | Sequence[str]]:
    headers: dict[str, str | Sequence[str]] = {key[5:].replace("_", "-").lower(): str(value)
               for key, value in environ.items() if key.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return headers


def _bolt(app: App, environ: WSGIEnvironment) -> BoltResponse:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > MAX_BODY:
        return BoltResponse(status=413, body="payload too large")
    headers = _headers(environ)
    stamp = headers.get("x-slack-request-timestamp")
    if isinstance(stamp, str) and not stamp.strip().isdigit():
        # Bolt's verifier would int() it and fail with a 500; a timestamp that is no number is forged.
        return BoltResponse(status=401, body="invalid request timestamp")
    body = environ["wsgi.input"].read(length).decode("utf-8", errors="replace") if length else ""
    try:
        request = BoltRequest(body=body, query=environ.get("QUERY_STRING", ""), headers=headers)
    except (AttributeError, TypeError, KeyError, IndexError, ValueError, RecursionError) as error:
        # Bolt reads the envelope (authorizations, enterprise) while building the request, before any
        # signature check: a body of the wrong shape is refused here, signed or not, and nothing runs.
        log.warning("refused a malformed request body: %s: %s", type(error).__name__, str(error)[:200])
        return BoltResponse(status=400, body="malformed Slack payload")
    response: BoltResponse = app.dispatch(request)
    return response


def make_wsgi_app(
    app: App, queue: JobSink, *, render_metrics: MetricsRenderer | None = None
) -> WSGIApplication:
    """The WSGI application `kms-why web` serves (any WSGI server will do; `serve` uses waitress)."""
    metrics = render_metrics or _default_metrics

    def wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        status, kind, body = 404, "text/plain; charset=utf-8", b"not found\n"
        if path == EVENTS_PATH and method == "POST":
            reply = _bolt(app, environ)
            status, body = reply.status, reply.body.encode()
            kind = (reply.headers.get("content-type") or [kind])[0]
        elif path == "/healthz" and method in ("GET", "HEAD"):
            status, body = 200, b"ok\n"
        elif path == "/readyz" and method in ("GET", "HEAD"):
            ready = queue.ping()
            status, body = (200, b"ready\n") if ready else (503, b"redis unreachable\n")
        elif path == "/metrics" and method == "GET":
            body, kind = metrics()
            status = 200
        elif path in (EVENTS_PATH, "/healthz", "/readyz", "/metrics"):
            status, body = 405, b"method not allowed\n"
        start_response(_status(status), [("Content-Type", kind), ("Content-Length", str(len(body)))])
        return [body]

    return wsgi


def create_server(wsgi: WSGIApplication, host: str, port: int, *, threads: int = 8) -> BaseWSGIServer:
    """A waitress server, bound now (port 0: a free one, see `bound_port`); `.run()` serves."""
    from waitress.server import BaseWSGIServer
    from waitress.server import create_server as waitress_server

    server = waitress_server(wsgi, host=host, port=port, threads=threads, ident="kms-why",
                             clear_untrusted_proxy_headers=True, channel_timeout=30)
    if not isinstance(server, BaseWSGIServer):  # several listen addresses: not how we call it
        raise TypeError(f"expected one listening socket for {host}:{port}")
    return server


def bound_port(server: BaseWSGIServer) -> int:
    return int(server.getsockname()[1])


def serve(settings: Settings, host: str, port: int, *, render_metrics: MetricsRenderer | None = None) -> None:
    """`kms-why web`: build the queue, store and app from the settings and serve until SIGTERM/SIGINT."""
    from bot.queue import JobQueue
    from bot.store import Store
    from handlers.app import build_app

    queue = JobQueue.from_url(settings.redis_url)
    store = Store.from_url(settings.redis_url, proposal_ttl_seconds=settings.proposal_ttl_seconds)
    app = build_app(settings, queue, store)
    server = create_server(make_wsgi_app(app, queue, render_metrics=render_metrics), host, port)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_cleanly)
    log.info("kms-why web listening on %s:%s", host, port)
    try:
        server.run()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.close()


def _exit_cleanly(signum: int, frame: Any) -> None:
    # The web process keeps no state: stopping means no longer accepting; Slack retries what we miss.
    sys.exit(0)
