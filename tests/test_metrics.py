"""`bot.metrics`: the series `/metrics` exposes, read back through prometheus-client's own parser."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    metrics.reset_for_tests()
    yield
    metrics.reset_for_tests()


def _samples() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, _ = metrics.render_latest()
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_import_builds_nothing_until_first_use() -> None:
    assert metrics._state is None
    metrics.registry()
    assert metrics._state is not None


def test_analysis_counts_by_cause_and_outcome_and_sums_aws_calls() -> None:
    metrics.observe_analysis("key_policy_missing_principal_no_root_delegation", "answered", 1.7, 9)
    metrics.observe_analysis("key_policy_missing_principal_no_root_delegation", "answered", 0.4, 5)
    metrics.observe_analysis(None, "failed", 31.0, 2)
    s = _samples()
    cause = "key_policy_missing_principal_no_root_delegation"
    assert s[("kms_why_analyses_total", (("cause", cause), ("outcome", "answered")))] == 2
    assert s[("kms_why_analyses_total", (("cause", "none"), ("outcome", "failed")))] == 1
    assert s[("kms_why_aws_calls_total", ())] == 16
    assert s[("kms_why_analysis_duration_seconds_count", (("outcome", "answered"),))] == 2
    assert s[("kms_why_analysis_duration_seconds_bucket", (("le", "0.5"), ("outcome", "answered")))] == 1
    assert s[("kms_why_analysis_duration_seconds_bucket", (("le", "30.0"), ("outcome", "failed")))] == 0


def test_approvals_slack_errors_aws_errors_and_jobs() -> None:
    metrics.count_approval("applied")
    metrics.count_approval("stale")
    metrics.count_approval("applied")
    metrics.count_slack_error("chat.postMessage", "ratelimited")
    metrics.count_aws_error("kms", "AccessDeniedException")
    metrics.count_job("analyse", "retried")
    s = _samples()
    assert s[("kms_why_approvals_total", (("outcome", "applied"),))] == 2
    assert s[("kms_why_approvals_total", (("outcome", "stale"),))] == 1
    slack_key = (("error", "ratelimited"), ("method", "chat.postMessage"))
    assert s[("kms_why_slack_api_errors_total", slack_key)] == 1
    assert s[("kms_why_aws_errors_total", (("code", "AccessDeniedException"), ("service", "kms")))] == 1
    assert s[("kms_why_jobs_total", (("kind", "analyse"), ("outcome", "retried")))] == 1


def test_label_values_are_sanitised_and_clipped() -> None:
    metrics.count_slack_error("chat.update", 'bad "error"\nwith newline' + "x" * 200)
    (error,) = [
        dict(labels)["error"] for (name, labels) in _samples() if name == "kms_why_slack_api_errors_total"
    ]
    assert len(error) == 64
    assert set(error) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-")


def test_queue_gauges_come_from_the_probe_at_scrape_time() -> None:
    depth = [3]
    metrics.set_queue_probe(lambda: metrics.QueueState(depth=depth[0], oldest_age_seconds=12.5, in_flight=1))
    assert _samples()[("kms_why_queue_depth", ())] == 3
    depth[0] = 7
    s = _samples()
    assert s[("kms_why_queue_depth", ())] == 7
    assert s[("kms_why_queue_oldest_job_age_seconds", ())] == 12.5
    assert s[("kms_why_queue_in_flight", ())] == 1


def test_a_failing_probe_drops_the_gauges_and_counts_the_error_without_failing_the_scrape() -> None:
    def broken() -> metrics.QueueState:
        raise ConnectionError("redis down")

    metrics.set_queue_probe(broken)
    s = _samples()
    assert ("kms_why_queue_depth", ()) not in s
    assert s[("kms_why_queue_probe_errors_total", ())] == 1


def test_render_latest_returns_the_prometheus_text_content_type() -> None:
    body, content_type = metrics.render_latest()
    assert content_type.startswith("text/plain; version=")
    assert b"# TYPE kms_why_analyses_total counter" in body
    # Only our registry: the default registry's process/platform collectors are not mixed in.
    assert b"python_info" not in body


@pytest.fixture
def redis_client() -> Iterator[redis.Redis[bytes]]:
    client = redis.Redis.from_url(os.environ.get("KMS_WHY_TEST_REDIS_URL", "redis://127.0.0.1:6379/12"))
    try:
        client.ping()
    except redis.ConnectionError as problem:
        pytest.fail(f"these tests need a Redis server at 127.0.0.1:6379 (.ci/run starts one): {problem}")
    yield client
    client.close()


def test_redis_stream_probe_reports_waiting_in_flight_and_oldest_age(
    redis_client: redis.Redis[bytes],
) -> None:
    stream = f"kms-why-test-metrics:{uuid.uuid4().hex}:jobs"
    try:
        probe = metrics.redis_stream_probe(redis_client, stream, "workers")
        assert probe() == metrics.QueueState(depth=0, oldest_age_seconds=0.0, in_flight=0)
        ten_seconds_ago = int(time.time() * 1000) - 10_000
        redis_client.xadd(stream, {"job": "a"}, id=f"{ten_seconds_ago}-0")
        redis_client.xadd(stream, {"job": "b"})
        redis_client.xadd(stream, {"job": "c"})
        assert probe().depth == 3  # no group yet: nothing is in flight
        redis_client.xgroup_create(stream, "workers", id="0")
        redis_client.xreadgroup("workers", "w1", {stream: ">"}, count=1)
        state = probe()
        assert (state.depth, state.in_flight) == (2, 1)
        assert 9.0 <= state.oldest_age_seconds < 60.0
        metrics.set_queue_probe(probe)
        assert _samples()[("kms_why_queue_depth", ())] == 2
    finally:
        redis_client.delete(stream)
