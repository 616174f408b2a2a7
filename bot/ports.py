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
    """Idempotent by `analysis_id`: showing the same analysis twice updates the one message."""

    def show(self, place: SlackPlace, view: ThreadView) -> str:
        """Post (first time) or update (afterwards) the analysis message; returns its ts."""
        ...

    def tell_privately(self, place: SlackPlace, user_id: str, text: str) -> None:
        """An ephemeral note to one user in the place's channel."""
        ...
