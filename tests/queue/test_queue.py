"""The job queue on a real Redis: dedupe, at-least-once delivery, redelivery of a dead worker's job."""

from __future__ import annotations

import time

import pytest
import redis

from bot.jobs import AnalyseJob, DecisionJob, SlackPlace
from bot.queue import JobQueue, QueueUnavailable

PLACE = SlackPlace(channel_id="C1", thread_ts="1.1", user_id="U1")


def _job(job_id: str = "Ev1") -> AnalyseJob:
    return AnalyseJob(job_id=job_id, request_id="r1", text="AccessDenied kms:Decrypt", place=PLACE)


def test_enqueue_dedupes_by_job_id(redis_client: redis.Redis[bytes], prefix: str) -> None:
    queue = JobQueue(redis_client, prefix=prefix)
    assert queue.enqueue(_job("Ev1")) is True
    assert queue.enqueue(_job("Ev1")) is False
    assert queue.enqueue(_job("Ev2")) is True
    assert queue.waiting_count() == 2


def test_receive_returns_the_job_and_ack_removes_it(redis_client: redis.Redis[bytes], prefix: str) -> None:
    queue = JobQueue(redis_client, prefix=prefix)
    decision = DecisionJob(job_id="d1", request_id="r", proposal_id="p-1", action="apply", user_id="U2")
    queue.enqueue(decision)
    delivery = queue.receive("w1", block_ms=10)
    assert delivery is not None
    assert delivery.job == decision
    assert delivery.deliveries == 1
    assert queue.pending_count() == 1
    queue.ack(delivery)
    assert queue.pending_count() == 0
    assert queue.receive("w1", block_ms=10) is None


def test_unacked_job_of_a_silent_worker_is_redelivered_after_idle(
    redis_client: redis.Redis[bytes], prefix: str
) -> None:
    queue = JobQueue(redis_client, prefix=prefix, redeliver_idle_ms=200)
    queue.enqueue(_job())
    first = queue.receive("dead-worker", block_ms=10)
    assert first is not None
    assert queue.receive("w2", block_ms=10) is None  # not idle long enough yet
    time.sleep(0.3)
    second = queue.receive("w2", block_ms=10)
    assert second is not None
    assert second.message_id == first.message_id
    assert second.deliveries == 2


def test_touch_keeps_a_live_workers_job_from_being_reclaimed(
    redis_client: redis.Redis[bytes], prefix: str
) -> None:
    queue = JobQueue(redis_client, prefix=prefix, redeliver_idle_ms=300)
    queue.enqueue(_job())
    first = queue.receive("busy", block_ms=10)
    assert first is not None
    for _ in range(4):
        time.sleep(0.15)
        queue.touch(first, "busy")
    assert queue.receive("other", block_ms=10) is None


def test_hand_back_makes_the_job_available_at_once_without_counting(
    redis_client: redis.Redis[bytes], prefix: str
) -> None:
    queue = JobQueue(redis_client, prefix=prefix)
    queue.enqueue(_job())
    first = queue.receive("stopping", block_ms=10)
    assert first is not None
    queue.hand_back(first)
    again = queue.receive("other", block_ms=10)
    assert again is not None
    assert again.job == first.job
    assert again.deliveries == 1
    assert queue.pending_count() == 1


def test_malformed_entry_is_dropped_not_fatal(redis_client: redis.Redis[bytes], prefix: str) -> None:
    queue = JobQueue(redis_client, prefix=prefix)
    queue.ensure_group()
    redis_client.xadd(queue.stream, {"job": b"{not json"})
    queue.enqueue(_job())
    assert queue.receive("w", block_ms=10) is None  # the bad entry is acknowledged and skipped
    delivery = queue.receive("w", block_ms=10)
    assert delivery is not None and delivery.job.job_id == "Ev1"


def test_redis_down_raises_queue_unavailable_and_ping_is_false() -> None:
    queue = JobQueue.from_url("redis://127.0.0.1:1/0")
    with pytest.raises(QueueUnavailable):
        queue.enqueue(_job())
    assert queue.ping() is False


def test_a_deleted_stream_is_recreated_by_the_next_receive(
    redis_client: redis.Redis[bytes], prefix: str
) -> None:
    queue = JobQueue(redis_client, prefix=prefix)
    queue.enqueue(_job("Ev1"))
    assert queue.receive("w", block_ms=10) is not None
    redis_client.delete(queue.stream)
    assert queue.receive("w", block_ms=10) is None
    queue.enqueue(_job("Ev2"))
    delivery = queue.receive("w", block_ms=10)
    assert delivery is not None and delivery.job.job_id == "Ev2"


def test_metrics_probe_counts_waiting_and_in_flight(redis_client: redis.Redis[bytes], prefix: str) -> None:
    queue = JobQueue(redis_client, prefix=prefix)
    queue.enqueue(_job("Ev1"))
    queue.enqueue(_job("Ev2"))
    assert queue.receive("w", block_ms=10) is not None
    state = queue.metrics_probe()()
    assert (state.depth, state.in_flight) == (1, 1)


def test_an_idle_job_behind_many_busy_ones_is_still_reclaimed(
    redis_client: redis.Redis[bytes], prefix: str
) -> None:
    queue = JobQueue(redis_client, prefix=prefix, redeliver_idle_ms=300)
    busy = []
    for index in range(30):
        queue.enqueue(_job(f"busy{index}"))
        delivery = queue.receive(f"busy-worker-{index}", block_ms=10)
        assert delivery is not None
        busy.append(delivery)
    queue.enqueue(_job("dead"))
    assert queue.receive("dead-worker", block_ms=10) is not None
    time.sleep(0.35)
    # The busy workers keep touching their jobs; only the dead worker's job (last in line) is idle.
    for index, delivery in enumerate(busy):
        queue.touch(delivery, f"busy-worker-{index}")
    rescued = None
    for _ in range(10):
        rescued = queue.receive("rescuer", block_ms=10)
        if rescued is not None:
            break
    assert rescued is not None and rescued.job.job_id == "dead"


def test_release_lets_the_same_job_id_be_queued_again_counting_deliveries_afresh(
    redis_client: redis.Redis[bytes], prefix: str
) -> None:
    queue = JobQueue(redis_client, prefix=prefix)
    decision = DecisionJob(
        job_id="apply:p-1", request_id="r", proposal_id="p-1", action="apply", user_id="U2"
    )
    assert queue.enqueue(decision)
    first = queue.receive("w1", block_ms=10)
    assert first is not None
    queue.ack(first)
    assert queue.enqueue(decision) is False
    queue.release("apply:p-1")
    assert queue.enqueue(decision.model_copy(update={"user_id": "U3"})) is True
    second = queue.receive("w1", block_ms=10)
    assert second is not None
    assert isinstance(second.job, DecisionJob)
    assert second.job.user_id == "U3" and second.deliveries == 1
    assert queue.enqueue(_job("Ev9")) and queue.enqueue(_job("Ev9")) is False  # other ids untouched


def test_release_with_redis_down_raises_queue_unavailable() -> None:
    queue = JobQueue(redis.Redis(port=1, socket_connect_timeout=0.2))
    with pytest.raises(QueueUnavailable):
        queue.release("apply:p-1")
