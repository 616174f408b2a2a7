"""Jobs that cross from the web process to the workers through Redis (pydantic, frozen).

Every job carries an idempotency key: a job that runs twice (at-least-once delivery) still produces
one answer, one apply.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SlackPlace(BaseModel):
    """Where the answer goes: a channel thread, and who asked."""

    model_config = ConfigDict(frozen=True)

    team_id: str | None = None
    channel_id: str
    thread_ts: str | None = None  # None: post a new top-level message (slash command)
    message_ts: str | None = None  # the pasted message, for permalinks
    user_id: str  # who pasted or asked
    response_url: str | None = None


class AnalyseJob(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["analyse"] = "analyse"
    job_id: str  # idempotency key: Slack event_id, or a command/shortcut id
    request_id: str  # follows the paste through the logs, web to worker
    text: str  # plain text, Slack encoding already undone
    place: SlackPlace
    source: Literal["message", "mention", "command", "shortcut", "cli"] = "message"
    attempt: int = 0


class DecisionJob(BaseModel):
    """An approver's submitted decision on a proposal (apply, reject or revert)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["decision"] = "decision"
    job_id: str
    request_id: str
    proposal_id: str
    action: Literal["apply", "reject", "revert"]
    user_id: str  # the approver
    reason: str = ""
    attempt: int = 0


Job = AnalyseJob | DecisionJob


class JobEnvelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    job: AnalyseJob | DecisionJob = Field(discriminator="kind")
