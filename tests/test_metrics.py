"""`bot.metrics`: the series `/metrics` exposes, read back through prometheus-client's own parser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
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
