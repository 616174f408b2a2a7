"""Answering a paste: the worker's half of an AnalyseJob.

The reply is idempotent: an "analysing" placeholder is posted and its ts recorded in Redis (posted
while the analysis runs, to save a Slack round trip), and every later state updates that one message.
A job that runs twice finds the ts (or, if its first run died between posting and recording, the
Slack side finds our message by its metadata) and never posts a second answer.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime
from typing import Any, Protocol, TypeVar

from bot import metrics
from bot.approval import NotProposable, proposable_fix, proposal_from_fix
from bot.diagnosis.models import Diagnosis
from bot.jobs import AnalyseJob, SlackPlace
from bot.ports import ThreadReplies, ThreadView
from bot.settings import Settings
from bot.store import AnalysisRecord, Store

log = logging.getLogger(__name__)
T = TypeVar("T")


class Analyse(Protocol):
    def __call__(
        self, text: str, settings: Settings, *, request_id: str, sessions: Any = None
    ) -> list[Diagnosis]: ...


class Retrying(Protocol):
    def __call__(self, action: Callable[[], T]) -> T: ...


class AwsWatch(Protocol):
    """What the worker saw of AWS during an attempt: `check` raises when a read failed transiently."""

    def clear(self) -> None: ...

    def check(self) -> None: ...


class Answers:
    def __init__(
        self,
        store: Store,
        replies: ThreadReplies,
        settings: Settings,
        *,
        analyse: Analyse,
        sessions: Any,
        clock: Callable[[], datetime],
        retrying: Retrying,
        pause: Callable[[], None] | None = None,
        aws_trouble: AwsWatch | None = None,
    ) -> None:
        self._store = store
        self._replies = replies
        self._settings = settings
        self._analyse = analyse
        self._sessions = sessions
        self._clock = clock
        self._retrying = retrying
        self._pause = pause  # tests only: hold the job after the placeholder is posted
        self._aws_trouble = aws_trouble
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="placeholder")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def handle(self, job: AnalyseJob) -> str:
        analysis_id = job.job_id
        record = self._store.get_analysis(analysis_id)
        if record is not None and record.view.state != "analysing":
            return "duplicate"  # answered already; the acknowledgement was what got lost
        started = time.monotonic()
        # The placeholder goes out while the analysis runs: one Slack round trip less before the answer.
        placeholder = self._pool.submit(
            contextvars.copy_context().run, self._message_ts, analysis_id, job.place
        )
        try:
            if self._pause is not None:
                placeholder.result()
                self._pause()
            diagnoses = self._retrying(lambda: self._attempt(job))
        except BaseException:
            wait([placeholder])  # its ts must be recorded before the failure is told in the thread
            raise
        ts = placeholder.result()
        analysed = time.monotonic()
        proposal_ids = self._propose(analysis_id, job.place, ts, diagnoses)
        view = ThreadView(
            analysis_id=analysis_id, state="answered", diagnoses=tuple(diagnoses), proposal_ids=proposal_ids
        )
        self._retrying(lambda: self._replies.show(job.place, view, ts))
        self._store.save_analysis(analysis_id, AnalysisRecord(place=job.place, view=view))
        elapsed = time.monotonic() - started
        log.info(
            "answered %s in %.0f ms (analysis %.0f ms)",
            analysis_id,
            elapsed * 1000,
            (analysed - started) * 1000,
        )
        for diagnosis in diagnoses:
            metrics.observe_analysis(diagnosis.cause.code, "answered", elapsed, diagnosis.aws_calls)
        if not diagnoses:
            metrics.observe_analysis(None, "nothing_found", elapsed, 0)
        return "answered"

    def _attempt(self, job: AnalyseJob) -> list[Diagnosis]:
        """One analysis; a read AWS throttled or failed with a 5xx makes it an error worth retrying."""
        if self._aws_trouble is not None:
            self._aws_trouble.clear()
        diagnoses = self._analyse(
            job.text, self._settings, request_id=job.request_id, sessions=self._sessions
        )
        if self._aws_trouble is not None:
            self._aws_trouble.check()
        return diagnoses

    def _message_ts(self, analysis_id: str, place: SlackPlace) -> str:
        ts = self._store.get_message_ts(analysis_id)
        if ts is None:
            placeholder = ThreadView(analysis_id=analysis_id, state="analysing")
            ts = self._retrying(lambda: self._replies.show(place, placeholder, None))
            self._store.set_message_ts(analysis_id, ts)
        return ts

    def _propose(
        self, analysis_id: str, place: SlackPlace, ts: str, diagnoses: list[Diagnosis]
    ) -> tuple[str | None, ...]:
        # A slash-command answer starts its own thread: the proposal points at our message.
        thread = place.model_copy(update={"thread_ts": place.thread_ts or place.message_ts or ts})
        ids: list[str | None] = []
        for index, diagnosis in enumerate(diagnoses):
            fix = proposable_fix(diagnosis)
            if fix is None:
                ids.append(None)
                continue
            try:
                proposal = proposal_from_fix(
                    fix,
                    analysis_id=analysis_id,
                    diagnosis_index=index,
                    place=thread,
                    now=self._clock(),
                    ttl_seconds=self._settings.proposal_ttl_seconds,
                )
            except NotProposable as problem:
                log.warning("no proposal for diagnosis %d: %s", index, problem)
                ids.append(None)
                continue
            self._store.save_proposal(proposal, only_if_new=True)
            ids.append(proposal.proposal_id)
        return tuple(ids)

    def report_failure(self, job: AnalyseJob, reason: str) -> None:
        """The analysis failed for good: the thread message says so, and why."""
        view = ThreadView(
            analysis_id=job.job_id, state="failed", status_line=f"The analysis failed: {reason}"
        )
        ts = self._store.get_message_ts(job.job_id)
        new_ts = self._replies.show(job.place, view, ts)
        if ts is None:
            self._store.set_message_ts(job.job_id, new_ts)
        self._store.save_analysis(job.job_id, AnalysisRecord(place=job.place, view=view))
