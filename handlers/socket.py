"""`kms-why socket`: the same app over Slack Socket Mode (outbound WebSocket, no public endpoint).

Redis down works as in HTTP mode: the listener's 503 means Bolt sends no acknowledgement for the
envelope, so Slack delivers it again.

Besides the WebSocket, a small HTTP listener on `--port` (default `$PORT` or 3000) serves what the
platform probes: GET /healthz (the process answers), /readyz (Redis answers and the WebSocket is
connected) and /metrics, through the web module's own WSGI application. Its Slack path is closed here:
in Socket Mode nothing verifies request signatures over HTTP.

SIGTERM (and SIGINT) stop it cleanly: the WebSocket is closed, so Slack sends new envelopes to the
other replicas, then the listener. As PID 1 in a container this matters: without a handler the kernel
ignores SIGTERM for PID 1 and Kubernetes kills the pod only after its grace period.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from bot.errors import UserError
from bot.settings import Settings
from handlers.deps import JobSink
from handlers.web import EVENTS_PATH, bound_port, create_server, make_wsgi_app

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from slack_bolt import App

    from bot.jobs import AnalyseJob, DecisionJob

log = logging.getLogger(__name__)
DEFAULT_PORT = 3000


class _Readiness:
    """Ready when the queue answers and the WebSocket is open (the JobSink the web module probes)."""

    def __init__(self, queue: JobSink, connected: Callable[[], bool]) -> None:
        self._queue = queue
        self._connected = connected

    def enqueue(self, job: AnalyseJob | DecisionJob) -> bool:
        return self._queue.enqueue(job)

    def ping(self) -> bool:
        return self._connected() and self._queue.ping()


def probe_app(app: App, queue: JobSink, connected: Callable[[], bool]) -> WSGIApplication:
    """The web module's /healthz, /readyz and /metrics, with its Slack path answered 404."""
    inner = make_wsgi_app(app, _Readiness(queue, connected))  # `app` serves only the Slack path

    def wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") == EVENTS_PATH:
            body = b"not found: Socket Mode receives Slack events over its WebSocket\n"
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"),
                                             ("Content-Length", str(len(body)))])
            return [body]
        return inner(environ, start_response)

    return wsgi


def run(settings: Settings, *, host: str = "0.0.0.0", port: int = DEFAULT_PORT,
        stop: threading.Event | None = None, on_listening: Callable[[int], None] | None = None) -> None:
    """Connect and serve until SIGTERM/SIGINT or `stop`. Needs SLACK_APP_TOKEN and SLACK_BOT_TOKEN."""
    if not settings.slack_app_token:
        raise UserError("SLACK_APP_TOKEN is not set (Socket Mode needs an app-level token, xapp-…)")
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.queue import JobQueue
    from bot.store import Store
    from handlers.app import build_app, make_client

    stop = stop or threading.Event()
    queue = JobQueue.from_url(settings.redis_url)
    if not queue.ping():
        log.warning("Redis at the configured REDIS_URL does not answer yet; jobs fail until it does")
    store = Store.from_url(settings.redis_url, proposal_ttl_seconds=settings.proposal_ttl_seconds)
    app = build_app(settings, queue, store, socket_mode=True)
    # apps.connections.open goes through SLACK_API_URL like every other call.
    web_client = make_client(settings, settings.slack_app_token)
    handler = SocketModeHandler(app, settings.slack_app_token, web_client=web_client)
    try:
        server = create_server(probe_app(app, queue, handler.client.is_connected), host, port, threads=2)
    except OSError as problem:
        raise UserError(f"cannot listen on {host}:{port}: {problem.strerror or problem}") from None
    listener = threading.Thread(target=server.run, name="kms-why-probes", daemon=True)
    listener.start()
    log.info("kms-why socket: probes on %s:%s", host, bound_port(server))
    if on_listening is not None:
        on_listening(bound_port(server))
    _stop_on_signals(stop)
    try:
        handler.connect()  # type: ignore[no-untyped-call]
        while not stop.wait(0.5):  # a short wait keeps the main thread responsive to signals
            pass
        log.info("kms-why socket: stopping (closing the WebSocket, then the probe listener)")
    finally:
        handler.close()  # type: ignore[no-untyped-call]
        server.close()
        listener.join(timeout=5)


def _stop_on_signals(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may install handlers (tests run `run` in a thread)

    def handle(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
