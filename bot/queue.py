"""Jobs in Redis: a thin layer over one Redis Stream and its consumer group.

Why Streams and not rq, dramatiq or arq: the guarantees we need map one-to-one onto stream commands,
while each library would have to be bent to give them.
- at-least-once: XREADGROUP puts a message in the group's pending list; only XACK removes it.
- a dead worker's job comes back within seconds: XAUTOCLAIM takes any pending message idle longer than
  `redeliver_idle_ms`; a live worker keeps its message fresh with XCLAIM JUSTID (`touch`), so only a
  dead or hung worker loses it. (rq moves an abandoned job to the failed registry instead of
  re-running it; dramatiq's requeue of a dead worker's messages is tied to its own heartbeat timing.)
- dedupe by job id: one Lua script does SET NX on the job id and XADD, so dedupe and enqueue happen
  together or not at all. The worker `release`s a decision's job id when the decision was refused
  (the proposal is still undecided), so another approver's submission is not mistaken for a repeat.
- hand back on SIGTERM: XADD the job again and XACK the old entry in one MULTI.
Retries with backoff and the dead-letter record are the worker's (it knows which errors are
transient); this module only counts deliveries per job so that a job that kills its worker every time
ends in the dead-letter stream instead of looping.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

import redis
from pydantic import ValidationError

from bot.jobs import AnalyseJob, DecisionJob, JobEnvelope
from bot.metrics import QueueProbe, redis_stream_probe

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "kms-why"
GROUP = "workers"

_ENQUEUE_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'job', ARGV[1])
  return 1
end
return 0
"""


class QueueUnavailable(Exception):
    """Redis cannot be reached: the caller must not treat the job as accepted."""


@dataclass(frozen=True)
class Delivery:
    """One job handed to one consumer; `deliveries` counts how often this job was handed out."""

    message_id: str
    job: AnalyseJob | DecisionJob
    deliveries: int


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class JobQueue:
    """The queue between the web process (enqueue) and the workers (receive, touch, ack)."""

    def __init__(
        self,
        client: redis.Redis[bytes],
        *,
        prefix: str = DEFAULT_PREFIX,
        dedupe_ttl_seconds: int = 86_400,
        redeliver_idle_ms: int = 30_000,
        max_stream_length: int = 100_000,
    ) -> None:
        self._redis = client
        self.stream = f"{prefix}:jobs"
        self._prefix = prefix
        self._dedupe_ttl = dedupe_ttl_seconds
        self.redeliver_idle_ms = redeliver_idle_ms
        self._max_length = max_stream_length
        self._enqueue_once = client.register_script(_ENQUEUE_ONCE)
        self._group_ready = False
        self._claim_cursor = "0-0"

    @classmethod
    def from_url(cls, url: str, **options: Any) -> JobQueue:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
        )
        return cls(client, **options)

    def _dedupe_key(self, job_id: str) -> str:
        return f"{self._prefix}:job-seen:{job_id}"

    def _deliveries_key(self, job_id: str) -> str:
        return f"{self._prefix}:job-deliveries:{job_id}"

    def enqueue(self, job: AnalyseJob | DecisionJob) -> bool:
        """Queue the job; False when a job with this job_id was already queued (within a day)."""
        payload = JobEnvelope(job=job).model_dump_json()
        try:
            added = self._enqueue_once(
                keys=[self._dedupe_key(job.job_id), self.stream],
                args=[payload, self._dedupe_ttl, self._max_length],
            )
        except redis.RedisError as problem:
            raise QueueUnavailable(f"Redis unavailable: {problem}") from problem
        return bool(added)

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False

    def ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self._redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as problem:
            if "BUSYGROUP" not in str(problem):
                raise
        self._group_ready = True

    def receive(self, consumer: str, *, block_ms: int = 1000) -> Delivery | None:
        """The next job for `consumer`: first a job a dead worker left idle, else a new one."""
        try:
            return self._receive(consumer, block_ms)
        except redis.ResponseError as problem:
            if "NOGROUP" not in str(problem):
                raise
            # The stream was deleted under us (a flushed database): recreate the group next time.
            self._group_ready = False
            self._claim_cursor = "0-0"
            return None

    def _receive(self, consumer: str, block_ms: int) -> Delivery | None:
        self.ensure_group()
        # XAUTOCLAIM scans only a few pending entries per call: walk the pending list with a cursor, so
        # an idle job behind many busy ones is still found within a few polls.
        reply = cast(
            list[Any],
            self._redis.xautoclaim(
                self.stream, GROUP, consumer, self.redeliver_idle_ms, self._claim_cursor, count=1
            ),
        )
        self._claim_cursor = _text(reply[0]) if reply else "0-0"
        entries = reply[1] if len(reply) > 1 else []
        if entries:
            log.info("reclaimed job %s idle over %d ms", _text(entries[0][0]), self.redeliver_idle_ms)
        else:
            read = cast(
                list[Any],
                self._redis.xreadgroup(GROUP, consumer, {self.stream: ">"}, count=1, block=block_ms),
            )
            entries = read[0][1] if read else []
        for message_id, fields in entries:
            delivery = self._delivery(_text(message_id), fields)
            if delivery is not None:
                return delivery
        return None

    def _delivery(self, message_id: str, fields: dict[Any, Any] | None) -> Delivery | None:
        raw = (fields or {}).get(b"job") or (fields or {}).get("job")
        try:
            job = JobEnvelope.model_validate_json(raw or b"").job
        except ValidationError:
            log.error("dropping malformed job %s", message_id)
            cast(Any, self._redis).xack(self.stream, GROUP, message_id)
            return None
        key = self._deliveries_key(job.job_id)
        with self._redis.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, self._dedupe_ttl)
            count = int(pipe.execute()[0])
        return Delivery(message_id=message_id, job=job, deliveries=count)

    def touch(self, delivery: Delivery, consumer: str) -> None:
        """Reset the idle time of a job still being worked on, so that no other worker reclaims it."""
        cast(Any, self._redis).xclaim(self.stream, GROUP, consumer, 0, [delivery.message_id], justid=True)

    def ack(self, delivery: Delivery) -> None:
        with self._redis.pipeline() as pipe:
            cast(Any, pipe).xack(self.stream, GROUP, delivery.message_id)
            pipe.xdel(self.stream, delivery.message_id)
            pipe.execute()

    def release(self, job_id: str) -> None:
        """Forget that `job_id` was queued, so the same job id can be queued again.

        For a finished job only: releasing one still in the stream would let a duplicate in. The
        delivery count goes too, or the next job with this id would start counting where this one ended
        and soon be dead-lettered unread.
        """
        try:
            self._redis.delete(self._dedupe_key(job_id), self._deliveries_key(job_id))
        except redis.RedisError as problem:
            raise QueueUnavailable(f"Redis unavailable: {problem}") from problem

    def hand_back(self, delivery: Delivery) -> None:
        """Give an unfinished job back at once (clean shutdown); it does not count as a delivery."""
        payload = JobEnvelope(job=delivery.job).model_dump_json()
        with self._redis.pipeline() as pipe:
            pipe.xadd(self.stream, {"job": payload})
            cast(Any, pipe).xack(self.stream, GROUP, delivery.message_id)
            pipe.xdel(self.stream, delivery.message_id)
            pipe.decr(self._deliveries_key(delivery.job.job_id))
            pipe.execute()

    def metrics_probe(self) -> QueueProbe:
        """What `/metrics` reads at each scrape: waiting jobs, jobs in flight, the oldest one's age."""
        return redis_stream_probe(self._redis, self.stream, GROUP)

    def pending_count(self) -> int:
        """Jobs handed out and not yet acknowledged (for tests and metrics)."""
        self.ensure_group()
        summary = cast(dict[str, Any], cast(Any, self._redis).xpending(self.stream, GROUP))
        return int(summary.get("pending", 0))

    def waiting_count(self) -> int:
        """Entries in the stream, handed out or not."""
        return int(self._redis.xlen(self.stream))
