"""What the web process and the workers keep in Redis besides the queue.

- event ids already seen (Slack re-delivers events it thinks timed out);
- proposals, kept for their approval window plus a retention day so a late click is told "expired"
  and an applied patch can still be reverted;
- per analysis: the thread message ts and the last view shown, so a job that runs twice updates one
  message, and a decision can redraw it;
- per-key locks, and per-decision intent markers so an apply interrupted after PutKeyPolicy is
  recognised on retry instead of applied again;
- the audit stream and the dead-letter stream.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any, Literal, cast

import redis
from pydantic import BaseModel, ConfigDict

from bot.approval import DecisionAction, Proposal
from bot.jobs import SlackPlace
from bot.ports import ThreadView
from bot.queue import DEFAULT_PREFIX, QueueUnavailable

DAY = 86_400
ANALYSIS_TTL_SECONDS = 7 * DAY

IntentState = Literal["started", "done"]


class AnalysisRecord(BaseModel):
    """Where an analysis was answered and what its message shows now."""

    model_config = ConfigDict(frozen=True)

    place: SlackPlace
    view: ThreadView


class AuditRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: DecisionAction
    proposal_id: str
    key_arn: str
    requester: str
    approver: str
    reason: str
    sha256_before: str
    sha256_after: str
    aws_request_id: str
    slack_permalink: str
    request_id: str
    at: datetime


class DeadLetter(BaseModel):
    model_config = ConfigDict(frozen=True)

    job_id: str
    job_json: str
    error: str
    attempts: int
    at: datetime


class KeyBusy(Exception):
    """Another worker holds the key's lock for longer than we are willing to wait."""

    transient = True


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Store:
    def __init__(
        self, client: redis.Redis[bytes], *, prefix: str = DEFAULT_PREFIX, proposal_ttl_seconds: int = 3600
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._proposal_ttl = proposal_ttl_seconds
        self.audit_stream = f"{prefix}:audit"
        self.dead_letter_stream = f"{prefix}:dead-letter"

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Store:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
        )
        return cls(client, **options)

    def _key(self, *parts: str) -> str:
        return ":".join((self._prefix, *parts))

    # Events -----------------------------------------------------------------------------------

    def claim_event(self, event_id: str) -> bool:
        """True only the first time this event id is seen (within a day)."""
        try:
            return bool(self._redis.set(self._key("event", event_id), "1", nx=True, ex=DAY))
        except redis.RedisError as problem:
            raise QueueUnavailable(f"Redis unavailable: {problem}") from problem

    # Proposals --------------------------------------------------------------------------------

    def save_proposal(self, proposal: Proposal, *, only_if_new: bool = False) -> bool:
        """Store the proposal; with `only_if_new`, keep an existing one (a re-run analysis job)."""
        saved = self._redis.set(
            self._key("proposal", proposal.proposal_id),
            proposal.model_dump_json(),
            ex=self._proposal_ttl + DAY,
            nx=only_if_new,
        )
        return bool(saved)

    def get_proposal(self, proposal_id: str) -> Proposal | None:
        try:
            raw = self._redis.get(self._key("proposal", proposal_id))
        except redis.RedisError as problem:
            raise QueueUnavailable(f"Redis unavailable: {problem}") from problem
        return Proposal.model_validate_json(raw) if raw else None

    # Analyses ---------------------------------------------------------------------------------

    def get_message_ts(self, analysis_id: str) -> str | None:
        raw = self._redis.get(self._key("analysis-ts", analysis_id))
        return _text(raw) if raw else None

    def set_message_ts(self, analysis_id: str, ts: str) -> None:
        self._redis.set(self._key("analysis-ts", analysis_id), ts, ex=ANALYSIS_TTL_SECONDS)

    def save_analysis(self, analysis_id: str, record: AnalysisRecord) -> None:
        self._redis.set(self._key("analysis", analysis_id), record.model_dump_json(), ex=ANALYSIS_TTL_SECONDS)

    def get_analysis(self, analysis_id: str) -> AnalysisRecord | None:
        raw = self._redis.get(self._key("analysis", analysis_id))
        return AnalysisRecord.model_validate_json(raw) if raw else None

    # Locks and intents ------------------------------------------------------------------------

    @contextmanager
    def key_lock(self, key_arn: str, *, hold_seconds: float = 60, wait_seconds: float = 30) -> Iterator[None]:
        """Only one decision per KMS key at a time, across all workers."""
        lock = self._redis.lock(
            self._key("key-lock", key_arn), timeout=hold_seconds, blocking_timeout=wait_seconds
        )
        if not lock.acquire():
            raise KeyBusy(f"another decision on {key_arn} is still running")
        try:
            yield
        finally:
            # It may have expired while held; the intent marker still guards against a double apply.
            with suppress(redis.exceptions.LockError):
                lock.release()

    def get_intent(self, proposal_id: str, action: DecisionAction) -> IntentState | None:
        raw = self._redis.get(self._key("intent", proposal_id, action))
        state = _text(raw) if raw else None
        return cast(IntentState, state) if state in ("started", "done") else None

    def set_intent(self, proposal_id: str, action: DecisionAction, state: IntentState) -> None:
        self._redis.set(self._key("intent", proposal_id, action), state, ex=self._proposal_ttl + DAY)

    # Audit and dead letters -------------------------------------------------------------------

    def audit(self, record: AuditRecord) -> str:
        fields = {name: str(value) for name, value in record.model_dump(mode="json").items()}
        return _text(self._redis.xadd(self.audit_stream, fields))

    def audit_records(self, count: int = 100) -> list[AuditRecord]:
        entries = cast(list[Any], self._redis.xrange(self.audit_stream, count=count))
        return [
            AuditRecord.model_validate({_text(k): _text(v) for k, v in fields.items()})
            for _, fields in entries
        ]

    def dead_letter(self, record: DeadLetter) -> str:
        fields = {name: str(value) for name, value in record.model_dump(mode="json").items()}
        return _text(self._redis.xadd(self.dead_letter_stream, fields))

    def dead_letters(self, count: int = 100) -> list[DeadLetter]:
        entries = cast(list[Any], self._redis.xrange(self.dead_letter_stream, count=count))
        return [
            DeadLetter.model_validate({_text(k): _text(v) for k, v in fields.items()})
            for _, fields in entries
        ]

    # Workers ----------------------------------------------------------------------------------

    def heartbeat(self, consumer: str, ttl_seconds: int) -> None:
        self._redis.set(self._key("worker", consumer), str(time.time()), ex=ttl_seconds)

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False


def utc_now() -> datetime:
    return datetime.now(UTC)
