"""The worker against a real Redis with fake Slack, AWS and analysis: the reply is idempotent,
transient errors are retried, the last failure is dead-lettered and told in the thread."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import redis

from bot.jobs import AnalyseJob, SlackPlace
from bot.queue import JobQueue
from bot.settings import Settings
from bot.store import Store
from bot.worker import Worker
from bot.worker_config import WorkerConfig
from tests.worker.fakes import FakeAnalyse, FakeKeyPolicies, FakeReplies, access_denied, diagnosis, throttling

PLACE = SlackPlace(channel_id="C1", thread_ts="1699.000001", message_ts="1699.000001", user_id="UREQ")


def _job(job_id: str = "Ev1") -> AnalyseJob:
    return AnalyseJob(job_id=job_id, request_id="req1", text="AccessDenied ... kms:Decrypt", place=PLACE)


@pytest.fixture
def parts(redis_client: redis.Redis, prefix: str, tmp_path: Path) -> dict[str, object]:
    return {
        "queue": JobQueue(redis_client, prefix=prefix, redeliver_idle_ms=200),
        "store": Store(redis_client, prefix=prefix),
        "replies": FakeReplies(),
        "analyse": FakeAnalyse(),
        "keys": FakeKeyPolicies(),
        "config": WorkerConfig(
            KMS_WHY_RETRY_BASE_SECONDS=0.01,
            KMS_WHY_JOB_ATTEMPTS=3,
            KMS_WHY_REDELIVER_IDLE_SECONDS=0.2,
            KMS_WHY_HEARTBEAT_FILE=str(tmp_path / "beat"),
        ),
    }


def _worker(parts: dict[str, object], name: str = "w1", **config: object) -> Worker:
    base: WorkerConfig = parts["config"]  # type: ignore[assignment]
    return Worker(
        queue=parts["queue"],  # type: ignore[arg-type]
        store=parts["store"],  # type: ignore[arg-type]
        replies=parts["replies"],  # type: ignore[arg-type]
        settings=Settings(KMS_WHY_APPROVERS="UAPP,UAPP2"),
        config=base.model_copy(update=config),
        analyse=parts["analyse"],  # type: ignore[arg-type]
        key_policies=parts["keys"],  # type: ignore[arg-type]
        consumer=name,
    )


def test_placeholder_then_answer_in_the_same_message(parts: dict[str, object]) -> None:
    queue: JobQueue = parts["queue"]  # type: ignore[assignment]
    replies: FakeReplies = parts["replies"]  # type: ignore[assignment]
    store: Store = parts["store"]  # type: ignore[assignment]
    queue.enqueue(_job())
    assert _worker(parts).run_once() is True
    states = [(view.state, ts) for _, view, ts in replies.shows]
    assert states == [("analysing", None), ("answered", "1700000000.000001")]
    assert replies.posted == 1
    answer = replies.last_view
    assert answer.diagnoses == (diagnosis(),)
    proposal_id = answer.proposal_ids[0]
    assert proposal_id is not None
    proposal = store.get_proposal(proposal_id)
    assert proposal is not None and proposal.state == "pending" and proposal.requester_id == "UREQ"
    assert store.get_message_ts("Ev1") == "1700000000.000001"
    assert queue.pending_count() == 0


def test_a_job_rerun_after_its_worker_died_updates_the_one_message(parts: dict[str, object]) -> None:
    queue: JobQueue = parts["queue"]  # type: ignore[assignment]
    replies: FakeReplies = parts["replies"]  # type: ignore[assignment]
    analyse: FakeAnalyse = parts["analyse"]  # type: ignore[assignment]
    queue.enqueue(_job())
    # The first worker posts the placeholder and dies inside the analysis (never acknowledges).
    analyse.errors = [KeyboardInterrupt()]  # type: ignore[list-item]
    with pytest.raises(KeyboardInterrupt):
        _worker(parts, "dies").run_once()
    time.sleep(0.3)
    assert _worker(parts, "w2").run_once() is True
    assert replies.posted == 1
    assert [view.state for _, view, _ in replies.shows] == ["analysing", "answered"]
    assert queue.pending_count() == 0


def test_an_answered_job_delivered_again_adds_nothing(parts: dict[str, object]) -> None:
    queue: JobQueue = parts["queue"]  # type: ignore[assignment]
    replies: FakeReplies = parts["replies"]  # type: ignore[assignment]
    queue.enqueue(_job())
    _worker(parts).run_once()
    redis_client: redis.Redis = queue._redis  # type: ignore[assignment]
    redis_client.delete(queue._dedupe_key("Ev1"))
    queue.enqueue(_job())
    _worker(parts).run_once()
    assert len(replies.shows) == 2


def test_aws_throttling_and_slack_rate_limits_are_retried(parts: dict[str, object]) -> None:
    queue: JobQueue = parts["queue"]  # type: ignore[assignment]
    replies: FakeReplies = parts["replies"]  # type: ignore[assignment]
    analyse: FakeAnalyse = parts["analyse"]  # type: ignore[assignment]
    store: Store = parts["store"]  # type: ignore[assignment]
    replies.fail_next = 1
    analyse.errors = [throttling(), throttling()]
    queue.enqueue(_job())
    _worker(parts).run_once()
    assert analyse.calls == 3
    assert replies.last_view.state == "answered"
    assert store.dead_letters() == []


def test_after_the_last_attempt_a_dead_letter_and_a_failure_in_the_thread(parts: dict[str, object]) -> None:
    queue: JobQueue = parts["queue"]  # type: ignore[assignment]
    replies: FakeReplies = parts["replies"]  # type: ignore[assignment]
    analyse: FakeAnalyse = parts["analyse"]  # type: ignore[assignment]
    store: Store = parts["store"]  # type: ignore[assignment]
    analyse.errors = [throttling(), throttling(), throttling()]
    queue.enqueue(_job())
    _worker(parts).run_once()
    assert analyse.calls == 3
    failed = replies.last_view
    assert failed.state == "failed"
    assert "ThrottlingException" in (failed.status_line or "")
    assert replies.posted == 1
    [letter] = store.dead_letters()
    assert letter.job_id == "Ev1" and "ThrottlingException" in letter.error
    assert queue.pending_count() == 0


def test_a_permanent_error_fails_at_once(parts: dict[str, object]) -> None:
    queue: JobQueue = parts["queue"]  # type: ignore[assignment]
    analyse: FakeAnalyse = parts["analyse"]  # type: ignore[assignment]
    replies: FakeReplies = parts["replies"]  # type: ignore[assignment]
    analyse.errors = [access_denied()]
    queue.enqueue(_job())
    _worker(parts).run_once()
    assert analyse.calls == 1
    assert "AccessDenied" in (replies.last_view.status_line or "")


def test_a_job_that_keeps_killing_workers_is_dead_lettered(parts: dict[str, object]) -> None:
    queue: JobQueue = parts["queue"]  # type: ignore[assignment]
    store: Store = parts["store"]  # type: ignore[assignment]
    analyse: FakeAnalyse = parts["analyse"]  # type: ignore[assignment]
    queue.enqueue(_job())
    for _ in range(2):
        assert queue.receive("dying", block_ms=10) is not None
        time.sleep(0.25)
    _worker(parts, max_deliveries=2).run_once()
    assert analyse.calls == 0
    [letter] = store.dead_letters()
    assert "3 times" in letter.error


def test_stop_during_a_backoff_hands_the_job_back(parts: dict[str, object]) -> None:
    queue: JobQueue = parts["queue"]  # type: ignore[assignment]
    analyse: FakeAnalyse = parts["analyse"]  # type: ignore[assignment]
    store: Store = parts["store"]  # type: ignore[assignment]
    analyse.errors = [throttling()]
    queue.enqueue(_job())
    worker = _worker(parts)
    worker.stop.set()
    worker.run_once()
    assert store.dead_letters() == []
    again = queue.receive("other", block_ms=10)
    assert again is not None and again.job.job_id == "Ev1" and again.deliveries == 1


def test_heartbeat_touches_the_file_and_keeps_the_job_claimed(
    parts: dict[str, object], tmp_path: Path
) -> None:
    queue: JobQueue = parts["queue"]  # type: ignore[assignment]
    worker = _worker(parts)
    queue.enqueue(_job())
    delivery = queue.receive(worker.consumer, block_ms=10)
    assert delivery is not None
    worker._current, worker._current_since = delivery, time.monotonic()
    for _ in range(3):
        time.sleep(0.12)
        worker.beat()
    assert (tmp_path / "beat").exists()
    assert queue.receive("thief", block_ms=10) is None


def test_a_hung_job_stops_the_heartbeat_so_it_can_be_redelivered(
    parts: dict[str, object], tmp_path: Path
) -> None:
    queue: JobQueue = parts["queue"]  # type: ignore[assignment]
    worker = _worker(parts, job_timeout_seconds=0.1)
    queue.enqueue(_job())
    delivery = queue.receive(worker.consumer, block_ms=10)
    assert delivery is not None
    worker._current, worker._current_since = delivery, time.monotonic() - 1
    time.sleep(0.25)
    worker.beat()
    assert not (tmp_path / "beat").exists()
    assert queue.receive("rescuer", block_ms=10) is not None


def test_run_stops_when_asked_and_removes_its_heartbeat(parts: dict[str, object], tmp_path: Path) -> None:
    worker = _worker(parts)
    runner = threading.Thread(target=worker.run)
    runner.start()
    deadline = time.monotonic() + 5
    while not (tmp_path / "beat").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (tmp_path / "beat").exists()
    worker.stop.set()
    runner.join(5)
    assert not runner.is_alive()
    assert not (tmp_path / "beat").exists()


def test_a_redis_outage_inside_a_job_leaves_it_pending_for_redelivery(parts: dict[str, object]) -> None:
    queue: JobQueue = parts["queue"]  # type: ignore[assignment]
    analyse: FakeAnalyse = parts["analyse"]  # type: ignore[assignment]
    store: Store = parts["store"]  # type: ignore[assignment]
    analyse.errors = [redis.ConnectionError("Redis went away")]
    queue.enqueue(_job())
    with pytest.raises(redis.ConnectionError):
        _worker(parts).run_once()
    assert store.dead_letters() == []
    assert queue.pending_count() == 1
