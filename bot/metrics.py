"""Prometheus metrics for `/metrics`: what an operator needs to see the bot is answering, and how well.

The registry is built lazily on first use (no I/O, no global collectors at import) and is private to
this module, so the process-wide default registry's platform collectors never mix in and tests can
start from zero with `reset_for_tests()`.

Label values come from bounded sets (cause codes, outcomes, Slack method names); `_label` still
clips and sanitises them so one odd value cannot blow up the series count.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    import redis

NAMESPACE = "kms_why"
_DURATION_BUCKETS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0, 120.0)
_AWS_CALL_BUCKETS = (1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64)
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.:\-]")


@dataclass(frozen=True)
class QueueState:
    """What a queue probe reports at scrape time."""

    depth: int
    oldest_age_seconds: float
    in_flight: int = 0


QueueProbe = Callable[[], QueueState]


class _QueueCollector(Collector):
    """Reads the queue through a callback at scrape time, so the gauges are never stale.

    A probe that fails (Redis down) yields no queue samples and bumps `queue_probe_errors_total`:
    an absent series is what alerts on `absent()` expect, and a scrape must never fail because of it.
    """

    def __init__(self, errors: Counter) -> None:
        self._probe: QueueProbe | None = None
        self._errors = errors

    def set_probe(self, probe: QueueProbe | None) -> None:
        self._probe = probe

    def collect(self) -> Iterable[Metric]:
        probe = self._probe
        if probe is None:
            return []
        try:
            state = probe()
        except Exception:  # a scrape reports what it can; the error is counted
            self._errors.inc()
            return []
        depth = GaugeMetricFamily(f"{NAMESPACE}_queue_depth", "Jobs waiting in the Redis queue.")
        depth.add_metric([], float(state.depth))
        age = GaugeMetricFamily(
            f"{NAMESPACE}_queue_oldest_job_age_seconds",
            "Age of the oldest waiting job (0 when the queue is empty).",
        )
        age.add_metric([], float(state.oldest_age_seconds))
        flight = GaugeMetricFamily(
            f"{NAMESPACE}_queue_in_flight", "Jobs taken by a worker and not yet acknowledged."
        )
        flight.add_metric([], float(state.in_flight))
        return [depth, age, flight]


class _Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.analyses = Counter(
            "analyses",
            "Analyses finished, by diagnosed cause and outcome.",
            ["cause", "outcome"],
            namespace=NAMESPACE,
            registry=r,
        )
        self.analysis_seconds = Histogram(
            "analysis_duration_seconds",
            "Wall time of one analysis, job taken to reply posted.",
            ["outcome"],
            namespace=NAMESPACE,
            registry=r,
            buckets=_DURATION_BUCKETS,
        )
        self.aws_calls = Counter(
            "aws_calls", "AWS API calls made by analyses.", namespace=NAMESPACE, registry=r
        )
        self.aws_calls_per_analysis = Histogram(
            "aws_calls_per_analysis",
            "AWS API calls one analysis needed.",
            namespace=NAMESPACE,
            registry=r,
            buckets=_AWS_CALL_BUCKETS,
        )
        self.aws_errors = Counter(
            "aws_errors",
            "AWS API calls that failed, by service and error code.",
            ["service", "code"],
            namespace=NAMESPACE,
            registry=r,
        )
        self.approvals = Counter(
            "approvals",
            "Approval decisions, by outcome (applied, rejected, stale, denied, ...).",
            ["outcome"],
            namespace=NAMESPACE,
            registry=r,
        )
        self.slack_errors = Counter(
            "slack_api_errors",
            "Slack Web API calls that failed, by method and error.",
            ["method", "error"],
            namespace=NAMESPACE,
            registry=r,
        )
        self.jobs = Counter(
            "jobs",
            "Queue jobs handled, by kind and outcome (done, retried, dead, duplicate).",
            ["kind", "outcome"],
            namespace=NAMESPACE,
            registry=r,
        )
        self.probe_errors = Counter(
            "queue_probe_errors",
            "Scrapes where the queue could not be read.",
            namespace=NAMESPACE,
            registry=None,
        )
        self.queue = _QueueCollector(self.probe_errors)
        # The queue collector first, so a scrape that fails to read the queue already counts itself.
        r.register(self.queue)
        r.register(self.probe_errors)


_state: _Metrics | None = None
_state_lock = threading.Lock()


def _metrics() -> _Metrics:
    global _state
    if _state is None:
        with _state_lock:
            if _state is None:
                _state = _Metrics()
    return _state


def _label(value: str | None, fallback: str = "unknown") -> str:
    cleaned = _LABEL_UNSAFE.sub("_", value or "")[:64]
    return cleaned or fallback


def registry() -> CollectorRegistry:
    """The registry behind `/metrics` (built on first call)."""
    return _metrics().registry


def observe_analysis(cause_code: str | None, outcome: str, seconds: float, aws_calls: int) -> None:
    """One finished analysis. `outcome`: answered, irrelevant, failed, ...; `cause_code`: the Cause slug."""
    m = _metrics()
    m.analyses.labels(cause=_label(cause_code, "none"), outcome=_label(outcome)).inc()
    m.analysis_seconds.labels(outcome=_label(outcome)).observe(max(seconds, 0.0))
    calls = max(aws_calls, 0)
    m.aws_calls.inc(calls)
    m.aws_calls_per_analysis.observe(calls)


def count_aws_error(service: str, code: str) -> None:
    """An AWS call that failed (`code`: the botocore error code, e.g. AccessDenied, Throttling)."""
    _metrics().aws_errors.labels(service=_label(service), code=_label(code)).inc()


def count_approval(outcome: str) -> None:
    """An approver's decision reached an end: applied, rejected, reverted, stale, denied, expired."""
    _metrics().approvals.labels(outcome=_label(outcome)).inc()


def count_slack_error(method: str, error: str) -> None:
    """A Slack Web API call failed (`error`: Slack's `error` field, or the exception type)."""
    _metrics().slack_errors.labels(method=_label(method), error=_label(error)).inc()


def count_job(kind: str, outcome: str) -> None:
    """A queue job ended: done, retried, dead, duplicate."""
    _metrics().jobs.labels(kind=_label(kind), outcome=_label(outcome)).inc()


def set_queue_probe(probe: QueueProbe | None) -> None:
    """Install the callback read at each scrape (e.g. `lambda: QueueState(llen, age)` over Redis)."""
    _metrics().queue.set_probe(probe)


def redis_stream_probe(client: redis.Redis[Any], stream: str, group: str) -> QueueProbe:
    """A probe over the job stream (`bot.queue`): acknowledged entries are deleted, so every entry is
    waiting or in flight, and the oldest entry's id is the time it was enqueued (ms since the epoch)."""

    def probe() -> QueueState:
        raw = cast(Any, client)
        length = int(raw.xlen(stream))
        try:
            in_flight = int(raw.xpending(stream, group).get("pending", 0))
        except Exception as problem:  # the group does not exist until the first worker starts
            if "NOGROUP" not in str(problem):
                raise
            in_flight = 0
        oldest = raw.xrange(stream, count=1)
        age = 0.0
        if oldest:
            entry_id = oldest[0][0]
            enqueued_ms = int((entry_id.decode() if isinstance(entry_id, bytes) else entry_id).split("-")[0])
            age = max(0.0, time.time() - enqueued_ms / 1000)
        return QueueState(depth=max(length - in_flight, 0), oldest_age_seconds=age, in_flight=in_flight)

    return probe


def render_latest() -> tuple[bytes, str]:
    """The body and Content-Type of a `/metrics` response."""
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def start_metrics_server(port: int, addr: str = "0.0.0.0") -> None:
    """Serve `/metrics` from a daemon thread: for the worker, which has no HTTP app of its own."""
    start_http_server(port, addr=addr, registry=registry())


def reset_for_tests() -> None:
    """Forget every series (tests only)."""
    global _state
    with _state_lock:
        _state = None
