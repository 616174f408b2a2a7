"""Approval security at the web process (issue 7): a button or modal naming another proposal, key or
channel, and clickers who may not decide (non-approver, requester, an approver removed since the
proposal by a settings change or a user-group change, an expired proposal), over signed HTTP."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from bot.jobs import DecisionJob
from handlers.modals import CALLBACK_APPLY, CALLBACK_REVERT, REASON_BLOCK
from tests.handlers.conftest import (
    APPROVER,
    BYSTANDER,
    CHANNEL,
    GROUP,
    GROUP_MEMBER,
    KEY_ARN,
    REQUESTER,
    Harness,
    HarnessFactory,
    proposal,
)
from tests.handlers.test_interactions_http import _click, _ephemeral_texts, _submission

OTHER_CHANNEL = "C0OTHERCHAN"


def _refused_at_submit(harness: Harness, callback: str, proposal_id: str, user: str) -> str:
    reply = harness.interaction(_submission(callback, proposal_id, user))
    assert reply.status == 200, reply.body
    answer = reply.json()
    assert answer["response_action"] == "errors"
    return str(answer["errors"][REASON_BLOCK])


def test_a_button_naming_a_proposal_of_another_channel_is_refused(harness: Harness) -> None:
    foreign = proposal(channel_id=OTHER_CHANNEL)
    harness.store.save_proposal(foreign)
    for action in ("approve_proposal", "reject_proposal", "revert_proposal"):
        assert harness.interaction(_click(action, foreign.proposal_id, APPROVER)).status == 200
    assert harness.slack.calls("views.open") == [] and harness.jobs() == []
    assert all("this channel" in text for text in _ephemeral_texts(harness))
    assert len(_ephemeral_texts(harness)) == 3


def test_a_button_value_naming_a_key_or_a_made_up_proposal_is_refused(harness: Harness) -> None:
    harness.store.save_proposal(proposal())
    forged = [KEY_ARN, "p-doesnotexist", "", "../proposal", "p-" + "9" * 5000, '{"proposal_id": "x"}',
              "*", "kms-why:proposal:*"]
    for value in forged:
        assert harness.interaction(_click("approve_proposal", value, APPROVER)).status == 200
    assert harness.slack.calls("views.open") == [] and harness.jobs() == []
    assert len(_ephemeral_texts(harness)) == len(forged)
    assert all("no longer exists" in text for text in _ephemeral_texts(harness))


def test_a_submission_naming_a_key_or_a_made_up_proposal_is_refused(harness: Harness) -> None:
    harness.store.save_proposal(proposal())
    for metadata in (KEY_ARN, "p-doesnotexist", ""):
        assert "no longer exists" in _refused_at_submit(harness, CALLBACK_APPLY, metadata, APPROVER)
    assert harness.jobs() == []


def test_non_approver_and_requester_are_refused_at_click_and_at_submit(make_harness: HarnessFactory) -> None:
    harness = make_harness(KMS_WHY_APPROVERS=f"{APPROVER},{REQUESTER},{GROUP}")
    saved = proposal()
    harness.store.save_proposal(saved)
    for user in (BYSTANDER, REQUESTER):
        assert harness.interaction(_click("approve_proposal", saved.proposal_id, user)).status == 200
    assert harness.slack.calls("views.open") == []
    assert "not an approver" in _refused_at_submit(harness, CALLBACK_APPLY, saved.proposal_id, BYSTANDER)
    assert "someone else" in _refused_at_submit(harness, CALLBACK_APPLY, saved.proposal_id, REQUESTER)
    assert harness.jobs() == []


def test_an_approver_removed_from_the_settings_since_the_proposal_is_refused(
    make_harness: HarnessFactory,
) -> None:
    before = make_harness()  # APPROVER may approve: the modal opens
    saved = proposal()
    before.store.save_proposal(saved)
    before.interaction(_click("approve_proposal", saved.proposal_id, APPROVER))
    assert len(before.slack.calls("views.open")) == 1
    after = make_harness(KMS_WHY_APPROVERS=GROUP)  # redeployed without APPROVER; same proposal
    after.store.save_proposal(saved)
    assert "not an approver" in _refused_at_submit(after, CALLBACK_APPLY, saved.proposal_id, APPROVER)
    assert after.jobs() == []


def test_a_group_member_removed_from_the_group_after_the_click_is_refused_at_submit(harness: Harness) -> None:
    saved = proposal()
    harness.store.save_proposal(saved)
    harness.interaction(_click("approve_proposal", saved.proposal_id, GROUP_MEMBER))
    assert len(harness.slack.calls("views.open")) == 1
    harness.slack.set_usergroup(GROUP, [])
    assert "not an approver" in _refused_at_submit(harness, CALLBACK_APPLY, saved.proposal_id, GROUP_MEMBER)
    assert harness.jobs() == []


def test_when_slack_will_not_list_the_group_its_members_are_refused(harness: Harness) -> None:
    saved = proposal()
    harness.store.save_proposal(saved)
    harness.slack.fail("usergroups.users.list", error="missing_scope", times=5)
    assert "not an approver" in _refused_at_submit(harness, CALLBACK_APPLY, saved.proposal_id, GROUP_MEMBER)
    assert harness.jobs() == []


def test_an_expired_proposal_is_refused_at_submit(harness: Harness) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    saved = proposal(created_at=past - timedelta(hours=1), expires_at=past)
    harness.store.save_proposal(saved)
    assert "expired" in _refused_at_submit(harness, CALLBACK_APPLY, saved.proposal_id, APPROVER)
    assert harness.jobs() == []


def test_a_revert_of_a_pending_proposal_and_an_apply_of_an_applied_one_are_refused(harness: Harness) -> None:
    pending, applied = proposal(), proposal(state="applied", decided_by=APPROVER)
    harness.store.save_proposal(pending)
    harness.store.save_proposal(applied)
    revert = _refused_at_submit(harness, CALLBACK_REVERT, pending.proposal_id, APPROVER)
    assert "Only an applied patch" in revert
    assert "already decided" in _refused_at_submit(harness, CALLBACK_APPLY, applied.proposal_id, APPROVER)
    assert harness.jobs() == []


def test_the_queued_decision_names_the_submitted_proposal_and_the_submitter_only(harness: Harness) -> None:
    saved, other = proposal(), proposal(channel_id=CHANNEL)
    harness.store.save_proposal(saved)
    harness.store.save_proposal(other)
    reply = harness.interaction(_submission(CALLBACK_APPLY, saved.proposal_id, GROUP_MEMBER))
    assert reply.status == 200 and reply.body == ""
    [job] = harness.jobs()
    assert isinstance(job, DecisionJob)
    assert (job.proposal_id, job.user_id, job.job_id) == (saved.proposal_id, GROUP_MEMBER,
                                                          f"apply:{saved.proposal_id}")


def test_two_approvers_submitting_at_once_queue_one_apply(harness: Harness) -> None:
    saved = proposal()
    harness.store.save_proposal(saved)
    with ThreadPoolExecutor(max_workers=4) as pool:
        submissions = [_submission(CALLBACK_APPLY, saved.proposal_id, user)
                       for user in (APPROVER, GROUP_MEMBER, APPROVER, GROUP_MEMBER)]
        replies = list(pool.map(harness.interaction, submissions))
    assert all(reply.status == 200 for reply in replies)
    assert sum(reply.body == "" for reply in replies) == 1  # the others are told it was already submitted
    [job] = harness.jobs()
    assert isinstance(job, DecisionJob) and job.job_id == f"apply:{saved.proposal_id}"
