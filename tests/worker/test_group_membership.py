"""The worker re-checks approver user-group membership itself, right before applying (interfaces.md
"Slack behaviour": only members of KMS_WHY_APPROVERS' groups may approve, checked again on submit; the
worker's run can come seconds, or on redelivery much longer, after the web process's check)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import redis

from bot.apply import Decisions
from bot.approval import Proposal
from bot.jobs import AnalyseJob, DecisionJob, SlackPlace
from bot.ports import DirectoryUnavailable
from bot.queue import JobQueue
from bot.settings import Settings
from bot.store import Store
from bot.worker import Worker
from bot.worker_config import WorkerConfig
from tests.worker.fakes import AFTER, FakeAnalyse, FakeKeyPolicies, FakeReplies

PLACE = SlackPlace(channel_id="C1", thread_ts="1699.000001", message_ts="1699.000001", user_id="UREQ")
SETTINGS = Settings(KMS_WHY_APPROVERS="UAPP,SAPPROVERS,SOTHERS")


@dataclass
class FakeDirectory:
    groups: dict[str, set[str]] = field(default_factory=lambda: {"SAPPROVERS": {"UMEMBER"}, "SOTHERS": set()})
    unreachable: dict[str, str] = field(default_factory=dict)  # group -> Slack's error
    asked: list[str] = field(default_factory=list)

    def group_members(self, group_id: str) -> frozenset[str]:
        self.asked.append(group_id)
        if group_id in self.unreachable:
            raise DirectoryUnavailable(group_id, self.unreachable[group_id])
        return frozenset(self.groups.get(group_id, set()))


class Approvals:
    """An analysed paste with a pending proposal, and Decisions over a directory of our own."""

    def __init__(self, client: redis.Redis[bytes], prefix: str, directory: FakeDirectory | None) -> None:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        self.store = Store(client, prefix=prefix)
        self.replies = FakeReplies()
        self.keys = FakeKeyPolicies()
        queue = JobQueue(client, prefix=prefix)
        worker = Worker(queue=queue, store=self.store, replies=self.replies, settings=SETTINGS,
                        config=WorkerConfig(), analyse=FakeAnalyse(), key_policies=self.keys,
                        clock=lambda: now)
        queue.enqueue(AnalyseJob(job_id="Ev1", request_id="r", text="denied", place=PLACE))
        assert worker.run_once()
        proposal_id = self.replies.last_view.proposal_ids[0]
        assert proposal_id is not None
        self.proposal_id = proposal_id
        self.shows_before = len(self.replies.shows)
        self.decisions = Decisions(self.store, self.replies, self.keys, SETTINGS, clock=lambda: now,
                                   directory=directory)

    def decide(self, user: str, action: str = "apply") -> str:
        job = DecisionJob.model_validate({"job_id": f"{action}:{self.proposal_id}", "request_id": "rd",
                                          "proposal_id": self.proposal_id, "action": action,
                                          "user_id": user, "reason": "ticket OPS-42"})
        return self.decisions.handle(job)

    @property
    def proposal(self) -> Proposal:
        found = self.store.get_proposal(self.proposal_id)
        assert found is not None
        return found

    def assert_nothing_changed(self) -> None:
        assert self.keys.puts == []
        assert self.proposal.state == "pending"
        assert self.store.audit_records() == []
        assert len(self.replies.shows) == self.shows_before  # the thread still truly shows it pending
        assert self.replies.last_view.state == "answered"


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()


@pytest.fixture
def approvals(redis_client: redis.Redis[bytes], prefix: str, directory: FakeDirectory) -> Approvals:
    return Approvals(redis_client, prefix, directory)


def test_a_group_member_still_in_the_group_applies_once(
    approvals: Approvals, directory: FakeDirectory
) -> None:
    assert approvals.decide("UMEMBER") == "applied"
    assert approvals.decide("UMEMBER") == "duplicate"
    assert approvals.keys.puts == [AFTER]
    assert "SAPPROVERS" in directory.asked
    [audit] = approvals.store.audit_records()
    assert audit.approver == "UMEMBER"


def test_a_member_removed_from_the_group_since_submit_is_refused(
    approvals: Approvals, directory: FakeDirectory
) -> None:
    directory.groups["SAPPROVERS"].discard("UMEMBER")  # removed between the submit and the worker's run
    assert approvals.decide("UMEMBER") == "refused"
    approvals.assert_nothing_changed()
    assert approvals.replies.private == [
        ("UMEMBER", "You are not an approver (KMS_WHY_APPROVERS), so you cannot approve this patch.")
    ]


def test_a_revert_by_a_removed_member_is_refused(approvals: Approvals, directory: FakeDirectory) -> None:
    assert approvals.decide("UMEMBER") == "applied"
    directory.groups["SAPPROVERS"].clear()
    assert approvals.decide("UMEMBER", action="revert") == "refused"
    assert approvals.keys.puts == [AFTER]
    assert approvals.proposal.state == "applied"


def test_when_slack_will_not_list_the_group_the_approval_is_refused_with_the_reason(
    approvals: Approvals, directory: FakeDirectory
) -> None:
    directory.unreachable["SAPPROVERS"] = "missing_scope"
    assert approvals.decide("UMEMBER") == "unconfirmed"
    approvals.assert_nothing_changed()
    [(user, text)] = approvals.replies.private
    assert user == "UMEMBER"
    assert "Nothing was applied" in text and "could not confirm" in text
    assert "SAPPROVERS" in text and "missing_scope" in text


def test_an_unlisted_group_does_not_matter_when_another_group_lists_the_user(
    approvals: Approvals, directory: FakeDirectory
) -> None:
    directory.unreachable["SOTHERS"] = "ratelimited"
    assert approvals.decide("UMEMBER") == "applied"
    assert approvals.keys.puts == [AFTER]


def test_a_user_in_no_answering_group_while_another_group_is_unlisted_is_refused(
    approvals: Approvals, directory: FakeDirectory
) -> None:
    directory.unreachable["SOTHERS"] = "internal_error"
    assert approvals.decide("UNOBODY") == "unconfirmed"
    approvals.assert_nothing_changed()
    assert "SOTHERS" in approvals.replies.private[0][1]


def test_a_direct_approver_and_the_requester_withdrawing_do_not_need_slack(
    approvals: Approvals, directory: FakeDirectory
) -> None:
    directory.unreachable.update({"SAPPROVERS": "fatal_error", "SOTHERS": "fatal_error"})
    assert approvals.decide("UREQ", action="reject") == "rejected"
    assert directory.asked == []
    assert approvals.proposal.state == "rejected"


def test_a_direct_approver_applies_without_asking_slack(
    approvals: Approvals, directory: FakeDirectory
) -> None:
    directory.unreachable.update({"SAPPROVERS": "fatal_error", "SOTHERS": "fatal_error"})
    assert approvals.decide("UAPP") == "applied"
    assert directory.asked == []


def test_without_a_directory_group_membership_is_never_assumed(
    redis_client: redis.Redis[bytes], prefix: str
) -> None:
    approvals = Approvals(redis_client, prefix, None)
    assert approvals.decide("UMEMBER") == "unconfirmed"
    approvals.assert_nothing_changed()
    assert "no Slack user-group directory" in approvals.replies.private[0][1]
