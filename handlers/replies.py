"""The worker's Slack side (bot.ports.ThreadReplies): one message per analysis, posted then updated.

Slack 429s are waited out by the client's RateLimitErrorRetryHandler; what still fails raises
SlackReplyError, whose `transient` tells the worker whether a retry can help.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot import metrics
from bot.jobs import SlackPlace
from bot.ports import ThreadView
from handlers.blocks import thread_message
from handlers.text import escape_keeping_user_mentions

log = logging.getLogger(__name__)
T = TypeVar("T")

METADATA_EVENT = "kms_why_analysis"
# Where chat.postMessage cannot reach (a slash command in a channel the bot is not in), the answer goes
# through the command's response_url; this stands in for the message ts the worker records.
RESPONSE_URL_TS = "response_url"
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
UNREACHABLE = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
HISTORY_PAGES = 5


class SlackReplyError(Exception):
    """A Slack call the worker needed failed. `transient`: retrying later may succeed."""

    def __init__(self, method: str, error: str, *, transient: bool, response: Any = None) -> None:
        super().__init__(f"Slack {method} failed: {error}")
        self.method = method
        self.error = error
        self.transient = transient
        self.response = response  # the SlackResponse when there is one (status, Retry-After)


def _call(method: str, run: Callable[[], T]) -> T:
    try:
        return run()
    except SlackApiError as problem:
        error = str(problem.response.get("error") or f"http_{problem.response.status_code}")
        metrics.count_slack_error(method, error)
        transient = error in TRANSIENT_ERRORS or problem.response.status_code >= 500
        raise SlackReplyError(method, error, transient=transient, response=problem.response) from problem
    except OSError as problem:  # connection refused or reset, timeouts (urllib raises these)
        metrics.count_slack_error(method, type(problem).__name__)
        raise SlackReplyError(method, type(problem).__name__, transient=True) from problem


def _ours(message: dict[str, Any], analysis_id: str) -> bool:
    metadata = message.get("metadata") or {}
    return (metadata.get("event_type") == METADATA_EVENT
            and (metadata.get("event_payload") or {}).get("analysis_id") == analysis_id)


class SlackThreadReplies:
    """Implements bot.ports.ThreadReplies over a WebClient (give it make_client(settings))."""

    def __init__(self, client: WebClient, *, webhook: Callable[[str], WebhookClient] = WebhookClient) -> None:
        self._client = client
        self._webhook = webhook

    def show(self, place: SlackPlace, view: ThreadView, ts: str | None) -> str:
        message = thread_message(view)
        metadata = {"event_type": METADATA_EVENT,
                    "event_payload": {"analysis_id": view.analysis_id, "state": view.state}}
        if ts == RESPONSE_URL_TS and place.response_url:
            return self._via_response_url(place.response_url, message, replace=True)
        if ts is None:
            ts = self.find(place, view.analysis_id)
        if ts is not None and ts != RESPONSE_URL_TS:
            try:
                _call("chat.update", lambda: self._client.chat_update(
                    channel=place.channel_id, ts=ts, text=message["text"], blocks=message["blocks"],
                    metadata=metadata))
                return ts
            except SlackReplyError as problem:
                if problem.error != "message_not_found":  # deleted by someone: post it again
                    raise
        try:
            posted = _call("chat.postMessage", lambda: self._client.chat_postMessage(
                channel=place.channel_id, thread_ts=place.thread_ts, text=message["text"],
                blocks=message["blocks"], metadata=metadata, unfurl_links=False, unfurl_media=False))
        except SlackReplyError as problem:
            if problem.error in UNREACHABLE and place.response_url:
                return self._via_response_url(place.response_url, message, replace=False)
            raise
        return str(posted["ts"])

    def find(self, place: SlackPlace, analysis_id: str) -> str | None:
        """The ts of our message for this analysis already in the thread (or channel), if any."""
        for message in self._messages(place):
            if _ours(message, analysis_id):
                return str(message["ts"])
        return None

    def _messages(self, place: SlackPlace) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            try:
                page = self._page(place, cursor)
            except SlackReplyError as problem:
                if problem.error in ("thread_not_found", *UNREACHABLE):
                    return  # nothing of ours can be there
                raise
            yield from page.get("messages") or []
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return

    def _page(self, place: SlackPlace, cursor: str | None) -> Any:
        channel, thread_ts = place.channel_id, place.thread_ts
        if thread_ts:
            return _call("conversations.replies", lambda: self._client.conversations_replies(
                channel=channel, ts=thread_ts, cursor=cursor, limit=200, include_all_metadata=True))
        return _call("conversations.history", lambda: self._client.conversations_history(
            channel=channel, cursor=cursor, limit=100, include_all_metadata=True))

    def _via_response_url(self, url: str, message: dict[str, Any], *, replace: bool) -> str:
        response = self._webhook(url).send(
            text=message["text"], blocks=message["blocks"], response_type="in_channel",
            replace_original=replace)
        if response.status_code >= 300:
            transient = response.status_code == 429 or response.status_code >= 500
            metrics.count_slack_error("response_url", f"http_{response.status_code}")
            raise SlackReplyError("response_url", f"http_{response.status_code}", transient=transient)
        return RESPONSE_URL_TS

    def tell_privately(self, place: SlackPlace, user_id: str, text: str) -> None:
        _call("chat.postEphemeral", lambda: self._client.chat_postEphemeral(
            channel=place.channel_id, user=user_id, text=escape_keeping_user_mentions(text),
            thread_ts=place.thread_ts))
