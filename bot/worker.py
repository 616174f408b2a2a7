"""`kms-why worker`: takes jobs from the queue, analyses pastes, carries out decisions, answers in Slack.

One job at a time per process (run more processes to scale). While a job runs, a heartbeat thread
keeps it claimed (see `bot.queue`), touches the liveness file and a Redis key. SIGTERM lets the
current job finish; a job waiting to retry is handed back instead.

Analysis jobs are answered by `bot.answer` (idempotent replies), decisions carried out by
`bot.apply` (applied at most once); this module is the loop, the retries and the dead letters.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import redis

from bot import metrics
from bot.answer import Analyse, Answers
from bot.apply import Decisions, KeyPolicies
from bot.aws_trouble import AwsTrouble, also
from bot.jobs import AnalyseJob, DecisionJob, JobEnvelope
from bot.logs import bind_request_id
from bot.ports import ApproverDirectory, ThreadReplies
from bot.queue import Delivery, JobQueue, QueueUnavailable
from bot.retry import Stopping, call_with_retries
from bot.settings import Settings
from bot.store import DeadLetter, Store, utc_now
from bot.worker_config import WorkerConfig

log = logging.getLogger(__name__)
T = TypeVar("T")


def _reason(problem: BaseException) -> str:
    text = str(problem).strip().splitlines()[0] if str(problem).strip() else ""
    return f"{type(problem).__name__}: {text}"[:300] if text else type(problem).__name__


class Worker:
    def __init__(
        self,
        *,
        queue: JobQueue,
        store: Store,
        replies: ThreadReplies,
        settings: Settings,
        config: WorkerConfig,
        analyse: Analyse,
        key_policies: KeyPolicies,
        sessions: Any = None,
        clock: Callable[[], datetime] = utc_now,
        consumer: str | None = None,
        directory: ApproverDirectory | None = None,
    ) -> None:
        self._queue = queue
        self._store = store
        self._replies = replies
        self._settings = settings
        self._config = config
        self._analyse = analyse
        self._sessions = sessions
        self._clock = clock
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        pausing = config.test_pause_seconds > 0
        self._decisions = Decisions(
            store,
            replies,
            key_policies,
            settings,
            clock=clock,
            lock_seconds=config.key_lock_seconds,
            pause_after_put=self._test_pause
            if pausing and config.test_pause_at == "after_put_key_policy"
            else None,
            directory=directory,
        )
        self._aws_trouble = AwsTrouble()
        watching = sessions is not None and hasattr(sessions, "on_client")
        if watching:
            sessions.on_client = also(sessions.on_client, self._aws_trouble.hook)
        self._answers = Answers(
            store,
            replies,
            settings,
            analyse=analyse,
            sessions=sessions,
            clock=clock,
            retrying=self._retrying,
            pause=self._test_pause if pausing and config.test_pause_at == "analysis" else None,
            aws_trouble=self._aws_trouble if watching else None,
        )
        self.stop = threading.Event()
        self._current: Delivery | None = None
        self._current_since = 0.0
        self._lock = threading.Lock()

    # The loop -----------------------------------------------------------------------------------

    def run(self) -> None:
        """Work until `stop` is set (SIGTERM/SIGINT when installed by `main`)."""
        beat = threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True)
        beat.start()
        log.info("worker %s started", self.consumer)
        try:
            while not self.stop.is_set():
                try:
                    self.run_once(block_ms=1000)
                except (redis.RedisError, QueueUnavailable) as problem:
                    log.warning("Redis unavailable (%s); retrying in 1 s", problem)
                    self.stop.wait(1.0)
        finally:
            self.stop.set()
            beat.join(timeout=5)
            # A stopped worker is not alive: a restarted container must not pass readiness on our file.
            Path(self._config.heartbeat_file).unlink(missing_ok=True)
            self._answers.close()
        log.info("worker %s stopped", self.consumer)

    def run_once(self, *, block_ms: int = 0) -> bool:
        """Take and process at most one job; True when one was taken."""
        delivery = self._queue.receive(self.consumer, block_ms=block_ms)
        if delivery is None:
            return False
        with self._lock:
            self._current, self._current_since = delivery, time.monotonic()
        try:
            self._process(delivery)
        finally:
            with self._lock:
                self._current = None
        return True

    def _heartbeat_loop(self) -> None:
        interval = self._config.heartbeat_interval_seconds
        path = Path(self._config.heartbeat_file)
        while not self.stop.is_set():
            self.beat(path)
            self.stop.wait(interval)

    def beat(self, path: Path | None = None) -> None:
        """Tell Kubernetes (file) and operators (Redis key) we live; keep the current job claimed.

        A job running past `job_timeout_seconds` counts as hung: the beat stops, so the liveness
        probe restarts the worker and Redis hands the job to another one.
        """
        with self._lock:
            current, since = self._current, self._current_since
        if current is not None and time.monotonic() - since >= self._config.job_timeout_seconds:
            log.error(
                "job %s runs past %.0f s: no more heartbeats",
                current.job.job_id,
                self._config.job_timeout_seconds,
            )
            return
        try:
            (path or Path(self._config.heartbeat_file)).touch()
        except OSError as problem:
            log.warning("cannot touch heartbeat file: %s", problem)
        try:
            self._store.heartbeat(
                self.consumer, ttl_seconds=int(self._config.heartbeat_interval_seconds * 3) + 1
            )
            if current is not None:
                self._queue.touch(current, self.consumer)
        except redis.RedisError as problem:
            log.warning("heartbeat could not reach Redis: %s", problem)

    # One job ------------------------------------------------------------------------------------

    def _process(self, delivery: Delivery) -> None:
        job = delivery.job
        with bind_request_id(job.request_id):
            if delivery.deliveries > self._config.max_deliveries:
                self._give_up(
                    delivery, f"the job was handed out {delivery.deliveries} times without finishing"
                )
                return
            try:
                if isinstance(job, AnalyseJob):
                    outcome = self._answers.handle(job)
                else:
                    outcome = self._decisions_with_retries(job)
            except (redis.ConnectionError, redis.TimeoutError, QueueUnavailable):
                raise  # Redis itself is away: leave the job pending, it is redelivered when Redis is back
            except Stopping:
                log.info("stopping: handing job %s back", job.job_id)
                self._queue.hand_back(delivery)
                metrics.count_job(job.kind, "handed_back")
                return
            except Exception as problem:
                log.exception("job %s failed", job.job_id)
                self._give_up(delivery, _reason(problem))
                return
            self._queue.ack(delivery)
            self._release_if_undecided(job)
            metrics.count_job(job.kind, "done")
            log.info("job %s done: %s", job.job_id, outcome)

    def _test_pause(self) -> None:
        self.stop.wait(self._config.test_pause_seconds)

    def _retrying(self, action: Callable[[], T]) -> T:
        def note(problem: BaseException, attempt: int) -> None:
            log.warning("transient error (attempt %d): %s", attempt, _reason(problem))
            metrics.count_job("attempt", "retried")

        return call_with_retries(
            action,
            attempts=self._config.attempts,
            base_seconds=self._config.retry_base_seconds,
            stop=self.stop,
            on_retry=note,
        )

    def _decisions_with_retries(self, job: DecisionJob) -> str:
        outcome = self._retrying(lambda: self._decisions.handle(job))
        metrics.count_approval(outcome)
        return outcome

    def _give_up(self, delivery: Delivery, reason: str) -> None:
        """Last attempt failed: a dead-letter record, a word in the thread, and the job acknowledged."""
        job = delivery.job
        self._store.dead_letter(
            DeadLetter(
                job_id=job.job_id,
                job_json=JobEnvelope(job=job).model_dump_json(),
                error=reason,
                attempts=delivery.deliveries,
                at=self._clock(),
            )
        )
        metrics.count_job(job.kind, "dead")
        if isinstance(job, AnalyseJob):
            with self._lock:
                since = self._current_since
            metrics.observe_analysis(None, "failed", time.monotonic() - since, 0)
        try:
            self._tell_failure(job, reason)
        except Exception:
            log.exception("could not tell Slack that job %s failed", job.job_id)
        self._queue.ack(delivery)
        self._release_if_undecided(job)

    def _release_if_undecided(self, job: AnalyseJob | DecisionJob) -> None:
        """Let a refused or failed decision be submitted again, by this approver or another one.

        Decision job ids name the proposal, not the approver (`apply:<proposal id>`), so the dedupe
        key would otherwise turn away every approver for a day while the proposal stays pending.
        Analysis job ids stay taken: a Slack retry of an answered paste must add nothing.
        """
        if not isinstance(job, DecisionJob):
            return
        try:
            if not self._decisions.decided(job):
                self._queue.release(job.job_id)
                log.info("job %s left the proposal undecided: its job id may be queued again", job.job_id)
        except (redis.RedisError, QueueUnavailable) as problem:
            # The job is acknowledged already; the id is only blocked until its dedupe key expires.
            log.warning("could not release job id %s: %s", job.job_id, problem)

    def _tell_failure(self, job: AnalyseJob | DecisionJob, reason: str) -> None:
        if isinstance(job, AnalyseJob):
            self._answers.report_failure(job, reason)
        else:
            self._decisions.report_failure(job, reason)


def install_signal_handlers(worker: Worker) -> None:
    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: finishing the current job, then stopping", signum)
        worker.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
