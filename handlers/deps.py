"""What the listeners need, as small protocols: the real JobQueue/Store, or test fakes, fit them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from bot.approval import Proposal
from bot.jobs import AnalyseJob, DecisionJob
from bot.logs import bind_request_id, current_request_id, new_request_id
from bot.parse.models import ParseResult
from bot.settings import Settings
from bot.store import AnalysisRecord

Parser = Callable[[str], ParseResult]
log = logging.getLogger(__name__)


class JobSink(Protocol):
    def enqueue(self, job: AnalyseJob | DecisionJob) -> bool:
        """False when that job_id was already queued; raises bot.queue.QueueUnavailable."""
        ...

    def ping(self) -> bool: ...


class ProposalSource(Protocol):
    def get_proposal(self, proposal_id: str) -> Proposal | None: ...

    def get_analysis(self, analysis_id: str) -> AnalysisRecord | None: ...


def request_id() -> str:
    """The id bound for the Slack request being handled (see `handlers.app`), so a job carries the id
    its web-side log lines already have; a fresh one outside a request."""
    return current_request_id() or new_request_id()


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _default_parser() -> Parser:
    # Imported when the app is built, not at import: `kms-why web` needs it, the handler tests may not.
    from bot.parse import parse

    return parse


@dataclass(frozen=True)
class Deps:
    settings: Settings
    queue: JobSink
    store: ProposalSource
    parse: Parser = field(default_factory=_default_parser)
    now: Callable[[], datetime] = _utc_now

    def submit(self, job: AnalyseJob | DecisionJob) -> bool:
        """Queue the job (False: its job id was already queued); logged under the job's request id,
        which follows it to the worker. Raises bot.queue.QueueUnavailable."""
        with bind_request_id(job.request_id):
            queued = self.queue.enqueue(job)
            log.info("%s job %s (%s)", "queued" if queued else "duplicate", job.job_id, job.kind)
        return queued
