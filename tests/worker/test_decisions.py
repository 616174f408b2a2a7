"""Decisions carried out by the worker (interfaces.md "Slack behaviour": applied at most once, stale
policy refused, never by the requester), on a real Redis with fake Slack and key policies."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import redis
from botocore.exceptions import ClientError

from bot.apply import Decisions
from bot.approval import Proposal
from bot.jobs import AnalyseJob, DecisionJob, SlackPlace
from bot.queue import JobQueue
from bot.settings import Settings
from bot.store import Store
from bot.worker import Worker
from bot.worker_config import WorkerConfig
from tests.worker.fakes import AFTER, BEFORE, KEY, FakeAnalyse, FakeKeyPolicies, FakeReplies

PLACE = SlackPlace(channel_id="C1", thread_ts="1699.000001", message_ts="1699.000001", user_id="UREQ")
SETTINGS = Settings(KMS_WHY_APPROVERS="UAPP,UAPP2")


class Approvals:
    def __init__(self, client: redis.Redis[bytes], prefix: str, now: datetime) -> None:
        self.now = now
        self.queue = JobQueue(client, prefix=prefix)
        self.store = Store(client, prefix=prefix)
        self.replies = FakeReplies()
        self.keys = FakeKeyPolicies()
        self.worker = Worker(
            queue=self.queue,
            store=self.store,
            replies=self.replies,
            settings=SETTINGS,
            config=WorkerConfig(KMS_WHY_RETRY_BASE_SECONDS=0.01),
            analyse=FakeAnalyse(),
            key_policies=self.keys,
            clock=lambda: self.now,
        )
        self.queue.enqueue(AnalyseJob(job_id="Ev1", request_id="r", text="denied", place=PLACE))
        self.worker.run_once()
        proposal_id = self.replies.last_view.proposal_ids[0]
        assert proposal_id is not None
        self.proposal_id = proposal_id
        self._n = 0

    def decide(self, user: str, action: str = "apply", reason: str = "needed for the nightly job") -> None:
        self._n += 1
        job = DecisionJob.model_validate(
            {
                "job_id": f"d{self._n}",
                "request_id": f"rd{self._n}",
                "proposal_id": self.proposal_id,
                "action": action,
                "user_id": user,
                "reason": reason,
            }
        )
        assert self.queue.enqueue(job)
        assert self.worker.run_once()

    @property
    def proposal(self) -> Proposal:
        found = self.store.get_proposal(self.proposal_id)
        assert found is not None
        return found


@pytest.fixture
def decided(redis_client: redis.Redis[bytes], prefix: str) -> Approvals:
    return Approvals(redis_client, prefix, datetime(2026, 1, 1, tzinfo=UTC))


def test_an_approver_applies_the_patch_once_and_it_is_audited(decided: Approvals) -> None:
    decided.decide("UAPP")
    assert decided.keys.puts == [AFTER]
    assert decided.keys.policies[KEY] == AFTER
    assert decided.proposal.state == "applied"
    assert decided.proposal.policy_before == BEFORE
    view = decided.replies.last_view
    assert view.state == "applied"
    assert "Applied by <@UAPP>" in (view.status_line or "")
    assert view.revert_proposal_id == decided.proposal_id
    assert decided.replies.posted == 1
    [audit] = decided.store.audit_records()
    assert (audit.requester, audit.approver, audit.action) == ("UREQ", "UAPP", "apply")
    assert audit.aws_request_id == "req-1"
    assert audit.reason == "needed for the nightly job"
    assert audit.sha256_before == decided.proposal.policy_sha256_before
    assert audit.sha256_after == decided.proposal.policy_sha256_after
    assert audit.slack_permalink == "https://slack.com/archives/C1/p1700000000000001"


def test_a_second_click_and_a_second_approver_apply_nothing_more(decided: Approvals) -> None:
    decided.decide("UAPP")
    decided.decide("UAPP")
    decided.decide("UAPP2")
    assert decided.keys.puts == [AFTER]
    assert len(decided.store.audit_records()) == 1
    assert any("already decided" in text for user, text in decided.replies.private if user == "UAPP2")


def test_two_approvers_racing_apply_once(
    redis_client: redis.Redis[bytes], prefix: str, decided: Approvals
) -> None:
    jobs = [
        DecisionJob(
            job_id=f"race{i}", request_id="r", proposal_id=decided.proposal_id, action="apply", user_id=user
        )
        for i, user in enumerate(("UAPP", "UAPP2"))
    ]
    decisions = [
        Decisions(
            Store(redis_client, prefix=prefix),
            decided.replies,
            decided.keys,
            SETTINGS,
            clock=lambda: decided.now,
        )
        for _ in jobs
    ]
    threads = [threading.Thread(target=d.handle, args=(j,)) for d, j in zip(decisions, jobs, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert decided.keys.puts == [AFTER]
    assert len(decided.store.audit_records()) == 1


def test_the_requester_cannot_approve_their_own_patch(decided: Approvals) -> None:
    settings_with_requester = Settings(KMS_WHY_APPROVERS="UAPP,UREQ")
    decided.worker._decisions._settings = settings_with_requester
    decided.decide("UREQ")
    assert decided.keys.puts == []
    assert decided.proposal.state == "pending"
    assert any(user == "UREQ" and "someone else" in text for user, text in decided.replies.private)


def test_someone_not_an_approver_applies_nothing(decided: Approvals) -> None:
    decided.decide("URANDOM")
    assert decided.keys.puts == []
    assert any("not an approver" in text for _, text in decided.replies.private)


def test_a_changed_key_policy_is_refused_and_a_fresh_analysis_offered(decided: Approvals) -> None:
    decided.keys.policies[KEY] = {**BEFORE, "Statement": [*BEFORE["Statement"], {"Sid": "SomeoneElse"}]}
    decided.decide("UAPP")
    assert decided.keys.puts == []
    assert decided.proposal.state == "pending"
    status = decided.replies.last_view.status_line or ""
    assert "changed since the analysis" in status and "fresh analysis" in status
    assert any("changed since the analysis" in text for _, text in decided.replies.private)
    assert decided.store.audit_records() == []


def test_a_reordered_but_equal_policy_is_not_stale(decided: Approvals) -> None:
    decided.keys.policies[KEY] = {"Statement": [{"Effect": "Allow", "Sid": "Root"}], "Version": "2012-10-17"}
    decided.decide("UAPP")
    assert decided.keys.puts == [AFTER]


def test_an_expired_proposal_applies_nothing_and_the_message_says_expired(decided: Approvals) -> None:
    decided.now += timedelta(hours=1, seconds=1)
    decided.decide("UAPP")
    assert decided.keys.puts == []
    assert decided.proposal.state == "expired"
    assert decided.replies.last_view.state == "expired"


def test_an_apply_interrupted_after_put_key_policy_is_not_applied_again(decided: Approvals) -> None:
    decided.keys.crash_after_put = True
    decided.decide("UAPP")  # the put happened, then the connection dropped; the worker retries the job
    assert decided.keys.puts == [AFTER]
    assert decided.proposal.state == "applied"
    [audit] = decided.store.audit_records()
    assert "interrupted" in audit.aws_request_id


def test_revert_restores_the_previous_policy(decided: Approvals) -> None:
    decided.decide("UAPP")
    decided.decide("UAPP2", action="revert", reason="broke deploys")
    assert decided.keys.puts == [AFTER, BEFORE]
    assert decided.proposal.state == "reverted"
    assert decided.replies.last_view.state == "reverted"
    actions = [record.action for record in decided.store.audit_records()]
    assert actions == ["apply", "revert"]


def test_revert_refuses_when_the_policy_changed_after_the_apply(decided: Approvals) -> None:
    decided.decide("UAPP")
    decided.keys.policies[KEY] = BEFORE
    decided.decide("UAPP2", action="revert")
    assert decided.keys.puts == [AFTER]
    assert decided.proposal.state == "applied"


def test_reject_marks_the_proposal_and_the_message(decided: Approvals) -> None:
    decided.decide("UAPP", action="reject", reason="<!channel> not now")
    assert decided.keys.puts == []
    assert decided.proposal.state == "rejected"
    view = decided.replies.last_view
    assert view.state == "rejected"
    assert "<!channel>" not in (view.status_line or "")
    decided.decide("UAPP2")
    assert decided.keys.puts == []


def test_a_refused_put_is_dead_lettered_and_told_in_the_thread(decided: Approvals) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise ClientError(
            {"Error": {"Code": "MalformedPolicyDocumentException", "Message": "lockout"}}, "PutKeyPolicy"
        )

    decided.keys.put = refuse  # type: ignore[assignment,method-assign]
    decided.decide("UAPP")
    assert decided.proposal.state == "pending"
    assert "Applying the patch failed" in (decided.replies.last_view.status_line or "")
    assert "MalformedPolicyDocumentException" in (decided.replies.last_view.status_line or "")
    assert any("apply failed" in text for user, text in decided.replies.private if user == "UAPP")
    [letter] = decided.store.dead_letters()
    assert letter.job_id == "d1"
