"""A refused decision does not lock the proposal for a day (issue 5): a group member submits Apply over
signed HTTP, is removed from the group before the worker runs and is refused; another approver then
submits, a new job is queued and the patch is applied exactly once. Once applied, the job id stays taken."""

from __future__ import annotations

from bot.jobs import DecisionJob
from bot.policy_text import policy_sha256
from bot.settings import Settings
from bot.worker import Worker
from bot.worker_config import WorkerConfig
from handlers.app import make_client
from handlers.directory import SlackApproverDirectory
from handlers.modals import CALLBACK_APPLY
from handlers.replies import SlackThreadReplies
from handlers.views import ALREADY
from tests.handlers.conftest import APPROVER, GROUP, GROUP_MEMBER, KEY_ARN, Harness, proposal
from tests.handlers.test_interactions_http import _submission
from tests.worker.fakes import AFTER, BEFORE, FakeAnalyse, FakeKeyPolicies


def test_after_a_removed_member_is_refused_another_approver_can_submit_and_apply_once(
    harness: Harness,
) -> None:
    saved = proposal(policy_after=AFTER, policy_sha256_before=policy_sha256(BEFORE),
                     policy_sha256_after=policy_sha256(AFTER))
    harness.store.save_proposal(saved)
    settings = Settings(SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=harness.slack.url,
                        KMS_WHY_APPROVERS=f"{APPROVER},{GROUP}")
    client = make_client(settings)
    keys = FakeKeyPolicies(policies={KEY_ARN: BEFORE})
    worker = Worker(queue=harness.queue, store=harness.store, replies=SlackThreadReplies(client),
                    settings=settings, config=WorkerConfig(), analyse=FakeAnalyse(), key_policies=keys,
                    directory=SlackApproverDirectory(client))

    reply = harness.interaction(_submission(CALLBACK_APPLY, saved.proposal_id, GROUP_MEMBER))
    assert (reply.status, reply.body) == (200, "")
    harness.slack.set_usergroup(GROUP, [])
    assert worker.run_once()
    refused = harness.store.get_proposal(saved.proposal_id)
    assert refused is not None and refused.state == "pending" and keys.puts == []

    reply = harness.interaction(_submission(CALLBACK_APPLY, saved.proposal_id, APPROVER))
    assert (reply.status, reply.body) == (200, "")  # queued, not "already submitted"
    [job] = harness.jobs()
    assert isinstance(job, DecisionJob)
    assert job.job_id == f"apply:{saved.proposal_id}" and job.user_id == APPROVER
    assert worker.run_once()
    applied = harness.store.get_proposal(saved.proposal_id)
    assert applied is not None and applied.state == "applied" and applied.decided_by == APPROVER
    assert keys.puts == [AFTER]
    [audit] = harness.store.audit_records()
    assert audit.approver == APPROVER

    again = harness.interaction(_submission(CALLBACK_APPLY, saved.proposal_id, APPROVER))
    assert again.status == 200 and "already decided" in again.body
    assert harness.queue.enqueue(job) is False  # the applied decision keeps its job id
    assert harness.jobs() == [] and keys.puts == [AFTER]


def test_two_submissions_while_the_first_job_waits_queue_one(harness: Harness) -> None:
    saved = proposal(policy_after=AFTER, policy_sha256_before=policy_sha256(BEFORE),
                     policy_sha256_after=policy_sha256(AFTER))
    harness.store.save_proposal(saved)
    first = harness.interaction(_submission(CALLBACK_APPLY, saved.proposal_id, GROUP_MEMBER))
    second = harness.interaction(_submission(CALLBACK_APPLY, saved.proposal_id, APPROVER))
    assert (first.status, first.body) == (200, "")
    assert second.status == 200 and ALREADY in second.body
    assert len(harness.jobs()) == 1
