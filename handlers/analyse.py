"""Turning a paste into an AnalyseJob: shared by messages, mentions, the slash command and the shortcut."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

from bot.jobs import AnalyseJob, SlackPlace
from handlers.deps import Deps, request_id

log = logging.getLogger(__name__)

Source = Literal["message", "mention", "command", "shortcut"]


def is_relevant(deps: Deps, text: str) -> bool:
    """The parser's verdict; a parser crash counts as irrelevant (chatter must never be retried)."""
    if not text.strip():
        return False
    try:
        return deps.parse(text).relevant
    except Exception:  # any parser failure: stay silent, log it for the parser's owner
        log.exception("parser failed on a %d-character message", len(text))
        return False


def message_job_id(channel_id: str, ts: str) -> str:
    """One analysis per Slack message, however it reaches us: the event, its retries, the @mention copy
    of the same message, the shortcut on it. The queue's job-id dedupe makes that atomic with the enqueue."""
    return f"message:{channel_id}:{ts}"


def job_for_message(
    body: Mapping[str, Any],
    message: Mapping[str, Any],
    channel_id: str,
    user_id: str,
    text: str,
    source: Source,
) -> AnalyseJob:
    ts = str(message["ts"])
    place = SlackPlace(
        team_id=body.get("team_id") or (body.get("team") or {}).get("id"),
        channel_id=channel_id,
        thread_ts=str(message.get("thread_ts") or ts),
        message_ts=ts,
        user_id=user_id,
        response_url=body.get("response_url"),
    )
    rid = str(body.get("event_id") or request_id())
    return AnalyseJob(job_id=message_job_id(channel_id, ts), request_id=rid, text=text, place=place,
                      source=source)
