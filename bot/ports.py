"""The small interface through which the worker reaches Slack; `handlers/replies.py` fills it.

The worker decides *what* the thread should show (`ThreadView`); the Slack layer decides *how*
(Block Kit, mrkdwn escaping, fallback text). Keeping this pure lets `bot/` never import `handlers/`.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from bot.diagnosis.models import Diagnosis
from bot.jobs import SlackPlace

ThreadState = Literal["analysing", "answered", "applied", "rejected", "reverted", "expired", "failed"]


class ThreadView(BaseModel):
    """Everything the one thread message shows for one analysis, in its current state."""

    model_config = ConfigDict(frozen=True)

    analysis_id: str
    state: ThreadState
    diagnoses: tuple[Diagnosis, ...] = ()
    proposal_ids: tuple[str | None, ...] = ()  # per diagnosis: the proposal its Approve button names
    status_line: str | None = None  # e.g. "Applied by <@U123>: reason" or why the analysis failed
    revert_proposal_id: str | None = None


class ThreadReplies(Protocol):
    """What the worker asks of Slack. The worker keeps the message ts in Redis and passes it back."""

    def show(self, place: SlackPlace, view: ThreadView, ts: str | None) -> str:
        """Update the message `ts`, or post one when `ts` is None; returns the message ts.

        With `ts` None, first look in the thread for a message of ours carrying this `analysis_id`
        in its metadata (a worker may have died between posting and recording the ts), so that a
        job that runs twice still leaves one message.
        """
        ...

    def tell_privately(self, place: SlackPlace, user_id: str, text: str) -> None:
        """An ephemeral note to one user in the place's channel."""
        ...


class DirectoryUnavailable(Exception):
    """Slack would not say who is in an approver user group: membership cannot be confirmed."""

    def __init__(self, group_id: str, error: str) -> None:
        super().__init__(f"Slack did not list user group {group_id}: {error}")
        self.group_id = group_id
        self.error = error


class ApproverDirectory(Protocol):
    """Who is in a Slack user group now; the worker asks it right before applying a decision."""

    def group_members(self, group_id: str) -> frozenset[str]:
        """The user ids in `group_id` (empty for a group that does not exist).

        Raises DirectoryUnavailable when Slack does not answer, so the caller refuses rather than guesses.
        """
        ...
