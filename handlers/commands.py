"""`/kms-why <error>`: acknowledged at once with a short ephemeral; the analysis goes to the queue.

The worker answers in the channel (a visible message with the diagnosis threaded under it, or the
command's response_url). Every outcome here is an ephemeral ack, so the 3-second budget holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.jobs import AnalyseJob, SlackPlace
from bot.queue import QueueUnavailable
from handlers.analyse import is_relevant
from handlers.deps import Deps, request_id
from handlers.text import unescape_slack

COMMAND = "/kms-why"
USAGE = (
    "*kms-why* explains AWS KMS AccessDenied errors from the real policies.\n"
    "• `/kms-why <error>`: paste the error after the command; the answer appears in this channel.\n"
    "• Or paste the error as a message in a channel I am in, or @mention me with it.\n"
    "• Or use the message shortcut *Explain this KMS error* on any message.\n"
    "I read the key policy, IAM policies, SCPs and grants, say which one blocks the request, and propose "
    "a proven key-policy patch that an approver can apply."
)
NOT_KMS = (
    "I found no KMS error in that text. Paste the whole error message, e.g. `User: arn:aws:iam::…` "
    "`is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:…`. `/kms-why help` explains more."
)
ANALYSING = "🔎 Analysing… the answer will appear in this channel."
QUEUE_DOWN = ("kms-why cannot accept the request right now: its queue (Redis) is unavailable. "
              "Nothing was analysed; please try again in a minute.")
HELP_WORDS = frozenset({"help", "-h", "--help", "?"})


def _job(command: dict[str, Any], text: str) -> AnalyseJob:
    place = SlackPlace(
        team_id=command.get("team_id"),
        channel_id=str(command["channel_id"]),
        thread_ts=None,
        user_id=str(command["user_id"]),
        response_url=command.get("response_url"),
    )
    rid = request_id()
    job_id = f"command:{command.get('trigger_id') or rid}"
    return AnalyseJob(job_id=job_id, request_id=rid, text=text, place=place, source="command")


def answer(deps: Deps, command: dict[str, Any]) -> str:
    """The ephemeral text to acknowledge the command with (having queued the job when there is one)."""
    text = unescape_slack(str(command.get("text") or "")).strip()
    if not text or text.lower() in HELP_WORDS:
        return USAGE
    if not is_relevant(deps, text):
        return NOT_KMS
    try:
        deps.submit(_job(command, text))
    except QueueUnavailable:
        return QUEUE_DOWN
    return ANALYSING


def register(app: App, deps: Deps) -> None:
    @app.command(COMMAND)
    def on_command(ack: Callable[..., None], command: dict[str, Any]) -> None:
        ack(text=answer(deps, command), response_type="ephemeral")
