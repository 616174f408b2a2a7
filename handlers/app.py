"""The Bolt app: one sync App with every listener registered.

`process_before_response=True`: in HTTP mode Bolt then sends the HTTP response only after the
listener returns, which is what we want because the web process does no slow work (parse, one Redis
round trip, at most a Slack call or two for approvals), and it lets a failed enqueue become the event's
HTTP status (503) so Slack retries it, instead of a 200 already sent for a job that was never queued.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.errors import UserError
from bot.logs import bind_request_id
from bot.queue import QueueUnavailable
from bot.settings import Settings
from handlers import actions, commands, events, shortcuts, views
from handlers.deps import Deps, JobSink, Parser, ProposalSource

log = logging.getLogger(__name__)


def make_client(settings: Settings, token: str | None = None) -> WebClient:
    """A WebClient on SLACK_API_URL that waits out Slack's 429s (Retry-After) and retries connection drops."""
    return WebClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
        ],
    )


# What reading a payload of the wrong shape raises (a list where Slack sends an object, a missing key,
# JSON nested past the recursion limit, a field pydantic refuses). Slack itself never sends such a
# payload, but a signed one must still get a clear 4xx rather than a 500: nothing was queued, and a
# retry of the same bytes cannot do better.
MALFORMED_PAYLOAD = (AttributeError, TypeError, KeyError, IndexError, ValueError, RecursionError)


class _RequestIdApp(App):
    """Every request is handled under one request id (the event's `event_id`, else a fresh one), bound
    around the whole dispatch: listeners' log lines carry it and the job they queue takes it
    (`handlers.deps.request_id`), so one grep follows a paste from the web process to the worker.
    Overriding `dispatch` covers HTTP and Socket Mode alike; Bolt's middleware cannot wrap a listener."""

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        body = req.body if isinstance(req.body, dict) else {}
        event_id = body.get("event_id")
        with bind_request_id(event_id if isinstance(event_id, str) and event_id else None):
            try:
                return super().dispatch(req)
            except MALFORMED_PAYLOAD as error:
                # Bolt reads the envelope (authorizations, enterprise, team) before verifying the
                # signature and outside its own error handling: a body of the wrong shape lands here.
                return _malformed(body, error)


def _malformed(body: dict[str, Any], error: Exception) -> BoltResponse:
    log.warning("refused a malformed %s payload: %s: %s", str(body.get("type"))[:40], type(error).__name__,
                str(error)[:200])
    return BoltResponse(status=400, body="malformed Slack payload")


def _on_error(error: Exception, body: dict[str, Any]) -> BoltResponse | None:
    if isinstance(error, QueueUnavailable):
        what = body.get("event_id") or body.get("type")
        log.warning("queue unavailable; answering 503 so Slack retries %s", what)
        return BoltResponse(status=503, body="queue unavailable")
    if isinstance(error, MALFORMED_PAYLOAD):
        return _malformed(body, error)
    log.error("listener failed on a %s payload: %s: %s", body.get("type"), type(error).__name__, error)
    return None  # Bolt answers 500


def build_app(
    settings: Settings,
    queue: JobSink,
    store: ProposalSource,
    *,
    parse: Parser | None = None,
    socket_mode: bool = False,
) -> App:
    """The Slack app. HTTP mode needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET; Socket Mode the bot token."""
    if not settings.slack_bot_token:
        raise UserError("SLACK_BOT_TOKEN is not set")
    if not socket_mode and not settings.slack_signing_secret:
        raise UserError("SLACK_SIGNING_SECRET is not set (needed to verify Slack's requests)")
    app = _RequestIdApp(
        client=make_client(settings),
        signing_secret=settings.slack_signing_secret,
        process_before_response=True,
        # No auth.test at start-up: the web process must come up (and /readyz answer) while Slack is
        # unreachable. Bolt still calls it once, lazily, to learn its own bot user id.
        token_verification_enabled=False,
        request_verification_enabled=not socket_mode,
    )
    deps = Deps(settings, queue, store) if parse is None else Deps(settings, queue, store, parse=parse)
    for listeners in (events, commands, shortcuts, actions, views):
        listeners.register(app, deps)
    app.error(_on_error)
    return app
