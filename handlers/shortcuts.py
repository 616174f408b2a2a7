"""The message shortcut "Explain this KMS error": analyse any message, answer in its thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.queue import QueueUnavailable
from handlers.analyse import is_relevant, job_for_message
from handlers.commands import QUEUE_DOWN
from handlers.deps import Deps
from handlers.text import message_text

CALLBACK_ID = "explain_kms_error"
NOT_KMS = "I found no KMS error in that message."
ALREADY = "That message is already being analysed: the answer is (or will be) in its thread."
QUEUED = "🔎 Analysing that message… the answer will appear in its thread."


def answer(deps: Deps, body: dict[str, Any]) -> str:
    """What to tell the clicker privately, having queued the analysis when there is one."""
    message = body.get("message") or {}
    channel = str((body.get("channel") or {}).get("id") or "")
    text = message_text(message)
    if not channel or not message.get("ts") or not is_relevant(deps, text):
        return NOT_KMS
    job = job_for_message(body, message, channel, str(body["user"]["id"]), text, "shortcut")
    try:
        return QUEUED if deps.submit(job) else ALREADY
    except QueueUnavailable:
        return QUEUE_DOWN


def register(app: App, deps: Deps) -> None:
    @app.shortcut(CALLBACK_ID)
    def on_shortcut(ack: Callable[..., None], body: dict[str, Any], respond: Callable[..., Any]) -> None:
        ack()
        respond(text=answer(deps, body), response_type="ephemeral", replace_original=False)
