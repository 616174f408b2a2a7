"""A decision job that leaves its proposal undecided (refused, stale, dead-lettered) releases its job id,
so the decision can be submitted again; a decided proposal and an answered paste keep theirs (issue 5)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from bot.jobs import AnalyseJob, DecisionJob
from bot.policy_text import policy_sha256
from tests.worker.fakes import AFTER, KEY, access_denied
from tests.worker.test_decisions import PLACE, Approvals


@pytest.fixture
def approvals(redis_client: redis.Redis[bytes], prefix: str) -> Approvals:
    return Approvals(redis_client, prefix, datetime(2026, 1, 1, tzinfo=UTC))


def _decision(approvals: Approvals, user: str, action: str = "apply") -> DecisionJob:
    # The web process's job id: one per proposal and action, whoever submits.
    return DecisionJob.model_validate(
        {
            "job_id": f"{action}:{approvals.proposal_id}",
            "request_id": f"r-{user}",
            "proposal_id": approvals.proposal_id,
            "action": action,
            "user_id": user,
            "reason": "needed for the nightly job",
        }
    )


def _state(approvals: Approvals) -> str:
    return approvals.proposal.state


def _submit_and_run(approvals: Approvals, user: str, action: str = "apply") -> None:
    assert approvals.queue.enqueue(_decision(approvals, user, action))
    assert approvals.worker.run_once()


def test_a_refused_apply_lets_another_approver_submit_and_apply_once(approvals: Approvals) -> None:
    _submit_and_run(approvals, "UOTHER")  # not an approver: refused, proposal still pending
    assert _state(approvals) == "pending" and approvals.keys.puts == []
    _submit_and_run(approvals, "UAPP")
    assert _state(approvals) == "applied" and approvals.proposal.decided_by == "UAPP"
    assert approvals.keys.puts == [AFTER]
    # Applied: the job id stays taken, a late submission adds nothing.
    assert approvals.queue.enqueue(_decision(approvals, "UAPP2")) is False


def test_while_a_decision_is_queued_a_second_submission_adds_nothing(approvals: Approvals) -> None:
    assert approvals.queue.enqueue(_decision(approvals, "UAPP"))
    assert approvals.queue.enqueue(_decision(approvals, "UAPP2")) is False
    assert approvals.worker.run_once()
    assert approvals.queue.waiting_count() == 0  # the one job ran and was removed
    assert approvals.keys.puts == [AFTER]


def test_a_stale_apply_releases_its_id_and_the_next_attempt_is_refused_the_same_way(
    approvals: Approvals,
) -> None:
    approvals.keys.policies[KEY] = {"Version": "2012-10-17", "Statement": []}  # changed outside kms-why
    _submit_and_run(approvals, "UAPP")
    first = approvals.replies.private[-1]
    _submit_and_run(approvals, "UAPP2")
    assert approvals.replies.private[-1][1] == first[1]
    assert approvals.keys.puts == [] and _state(approvals) == "pending"


def test_a_dead_lettered_decision_releases_its_id_and_its_delivery_count(approvals: Approvals) -> None:
    working_read = approvals.keys.read

    def denied(key_arn: str, *, request_id: str) -> dict[str, Any]:
        raise access_denied()

    approvals.keys.read = denied  # type: ignore[method-assign]
    _submit_and_run(approvals, "UAPP")
    [letter] = approvals.store.dead_letters()
    assert letter.job_id == f"apply:{approvals.proposal_id}"
    approvals.keys.read = working_read  # type: ignore[method-assign]
    assert approvals.queue.enqueue(_decision(approvals, "UAPP2"))
    delivery = approvals.queue.receive("w-test", block_ms=10)
    assert delivery is not None and delivery.deliveries == 1


def test_a_refused_revert_releases_its_id_though_the_proposal_is_applied(approvals: Approvals) -> None:
    _submit_and_run(approvals, "UAPP")
    _submit_and_run(approvals, "UOTHER", "revert")
    assert _state(approvals) == "applied"
    _submit_and_run(approvals, "UAPP2", "revert")
    assert _state(approvals) == "reverted"
    assert policy_sha256(approvals.keys.policies[KEY]) == approvals.proposal.policy_sha256_before


def test_an_answered_paste_keeps_its_job_id(approvals: Approvals) -> None:
    again = AnalyseJob(job_id="Ev1", request_id="r", text="denied", place=PLACE)
    assert approvals.queue.enqueue(again) is False
