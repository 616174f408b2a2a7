"""`kms-why socket`: the same app over Slack Socket Mode (outbound WebSocket, no public endpoint).

Redis down works as in HTTP mode: the listener's 503 means Bolt sends no acknowledgement for the
envelope, so Slack delivers it again. There is no /readyz here; the queue is pinged at start-up.
"""

from __future__ import annotations

import logging

from bot.errors import UserError
from bot.settings import Settings

log = logging.getLogger(__name__)


def run(settings: Settings) -> None:
    """Connect and serve until interrupted. Needs SLACK_APP_TOKEN (xapp-…) and SLACK_BOT_TOKEN."""
    if not settings.slack_app_token:
        raise UserError("SLACK_APP_TOKEN is not set (Socket Mode needs an app-level token, xapp-…)")
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.queue import JobQueue
    from bot.store import Store
    from handlers.app import build_app, make_client

    queue = JobQueue.from_url(settings.redis_url)
    if not queue.ping():
        log.warning("Redis at the configured REDIS_URL does not answer yet; jobs fail until it does")
    store = Store.from_url(settings.redis_url, proposal_ttl_seconds=settings.proposal_ttl_seconds)
    app = build_app(settings, queue, store, socket_mode=True)
    # apps.connections.open goes through SLACK_API_URL like every other call.
    web_client = make_client(settings, settings.slack_app_token)
    handler = SocketModeHandler(app, settings.slack_app_token, web_client=web_client)
    try:
        handler.start()  # type: ignore[no-untyped-call]
    except KeyboardInterrupt:
        handler.close()  # type: ignore[no-untyped-call]
