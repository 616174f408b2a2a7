"""Approval security across the queue (issue 7: "an approver removed since the proposal is refused"):
a user-group member submits the modal over signed HTTP while still in the group, is removed from the
group in Slack before the worker runs, and the worker, asking Slack itself, applies nothing."""

from __future__ import annotations

from bot.approval import Proposal
from bot.policy_text import policy_sha256
from bot.settings import Settings
from bot.worker import Worker
from bot.worker_config import WorkerConfig
from handlers.app import make_client
from handlers.directory import SlackApproverDirectory
from handlers.modals import CALLBACK_APPLY
from handlers.replies import SlackThreadReplies
from tests.handlers.conftest import APPROVER, GROUP, GROUP_MEMBER, KEY_ARN, Harness, proposal
from tests.handlers.test_interactions_http import _submission
from tests.worker.fakes import AFTER, BEFORE, FakeAnalyse, FakeKeyPolicies


def _submit_then_run_worker(harness: Harness, *, remove_from_group: bool) -> tuple[FakeKeyPolicies, Proposal]:
    saved = proposal(policy_after=AFTER, policy_sha256_before=policy_sha256(BEFORE),
                     policy_sha256_after=policy_sha256(AFTER))
    harness.store.save_proposal(saved)
    reply = harness.interaction(_submission(CALLBACK_APPLY, saved.proposal_id, GROUP_MEMBER))
    assert (reply.status, reply.body) == (200, "")  # accepted at submit: still a member then
    assert len(harness.jobs()) == 1
    if remove_from_group:
        harness.slack.set_usergroup(GROUP, [])
    settings = Settings(SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=harness.slack.url,
                        KMS_WHY_APPROVERS=f"{APPROVER},{GROUP}")
    client = make_client(settings)
    keys = FakeKeyPolicies(policies={KEY_ARN: BEFORE})
    worker = Worker(queue=harness.queue, store=harness.store, replies=SlackThreadReplies(client),
                    settings=settings, config=WorkerConfig(), analyse=FakeAnalyse(), key_policies=keys,
                    directory=SlackApproverDirectory(client))
    assert worker.run_once()
    after = harness.store.get_proposal(saved.proposal_id)
    assert after is not None
    return keys, after


def test_a_member_removed_from_the_group_after_submit_is_refused_by_the_worker(harness: Harness) -> None:
    keys, after = _submit_then_run_worker(harness, remove_from_group=True)
    assert keys.puts == []
    assert harness.store.audit_records() == []
    assert after.state == "pending"
    [told] = harness.slack.calls("chat.postEphemeral")
    assert told.params["user"] == GROUP_MEMBER and "not an approver" in str(told.params["text"])
    assert harness.slack.calls("chat.update") == [] and harness.slack.calls("chat.postMessage") == []
    # The worker asked Slack itself; the web process asked once on submit.
    assert len(harness.slack.calls("usergroups.users.list")) == 2


def test_a_member_still_in_the_group_when_the_worker_runs_applies_once(harness: Harness) -> None:
    keys, after = _submit_then_run_worker(harness, remove_from_group=False)
    assert keys.puts == [AFTER]
    assert after.state == "applied"
    [audit] = harness.store.audit_records()
    assert audit.approver == GROUP_MEMBER
    assert harness.slack.calls("chat.postEphemeral") == []
