"""`message` and `app_mention` events: a relevant paste becomes one AnalyseJob; everything else, nothing.

Redis down: the enqueue raises QueueUnavailable, which the app's error handler turns into a 503, so
Slack delivers the event again later and nothing accepted is lost. A retry of an event that was
queued finds its job id taken and adds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_bolt import App

from handlers.analyse import Source, is_relevant, job_for_message
from handlers.deps import Deps
from handlers.text import message_text


def _from_a_person(event: Mapping[str, Any], bot_user_id: str | None) -> bool:
    """No subtype (edits, joins, bot_message, thread_broadcast all have one), no bot, not ourselves."""
    return (
        event.get("subtype") is None
        and not event.get("bot_id")
        and bool(event.get("user"))
        and event.get("user") != bot_user_id
        and bool(event.get("ts"))
    )


def _analyse(deps: Deps, body: Mapping[str, Any], event: Mapping[str, Any], source: Source) -> None:
    text = message_text(event)
    if not is_relevant(deps, text):
        return
    channel = str(event["channel"])
    deps.submit(job_for_message(body, event, channel, str(event["user"]), text, source))


def register(app: App, deps: Deps) -> None:
    watched = frozenset(deps.settings.channels)

    @app.event("message")
    def on_message(body: dict[str, Any], event: dict[str, Any], context: dict[str, Any]) -> None:
        if not _from_a_person(event, context.get("bot_user_id")):
            return
        if watched and event.get("channel") not in watched:
            return
        _analyse(deps, body, event, "message")

    @app.event("app_mention")
    def on_mention(body: dict[str, Any], event: dict[str, Any], context: dict[str, Any]) -> None:
        # An explicit mention is answered in any channel the bot is in, watched or not.
        if _from_a_person(event, context.get("bot_user_id")):
            _analyse(deps, body, event, "mention")
