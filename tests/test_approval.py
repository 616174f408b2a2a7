"""The pure approval rules (interfaces.md, "Slack behaviour": who may approve, never the requester)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.approval import (
    NotProposable,
    Proposal,
    approval_refusal,
    live_policy_matches,
    proposable_fix,
    proposal_from_fix,
    proposal_id_for,
)
from bot.diagnosis.models import Cause, Diagnosis, Fix, Lock
from bot.jobs import SlackPlace
from bot.parse.models import Denial
from bot.policy_text import policy_sha256

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
KEY = "arn:aws:kms:ap-northeast-1:111122223333:key/abc-123"
BEFORE = {"Version": "2012-10-17", "Statement": [{"Sid": "Root", "Effect": "Allow"}]}
AFTER = {"Version": "2012-10-17", "Statement": [{"Sid": "Root", "Effect": "Allow"}, {"Sid": "Add"}]}
PLACE = SlackPlace(channel_id="C1", thread_ts="1700.1", message_ts="1700.1", user_id="UREQ")
APPROVERS = frozenset({"UAPP", "UREQ"})


def _fix(**changes: object) -> Fix:
    fields: dict[str, object] = {
        "kind": "key_policy_patch",
        "summary": "Add MyRole to the key policy",
        "diff": "+ Add",
        "policy_sha256_before": policy_sha256(BEFORE),
        "verified": True,
        "key_arn": KEY,
        "policy_after": AFTER,
    }
    fields.update(changes)
    return Fix.model_validate(fields)


def _proposal(**changes: object) -> Proposal:
    proposal = proposal_from_fix(
        _fix(), analysis_id="Ev1", diagnosis_index=0, place=PLACE, now=NOW, ttl_seconds=3600
    )
    return proposal.model_copy(update=changes)


def _refusal(proposal: Proposal, user: str, **options: object) -> str | None:
    kwargs: dict[str, object] = {
        "approver_users": APPROVERS,
        "approver_group_members": frozenset(),
        "now": NOW,
    }
    kwargs.update(options)
    return approval_refusal(proposal, user, **kwargs)  # type: ignore[arg-type]


def test_proposal_from_fix_takes_key_place_and_hashes() -> None:
    proposal = _proposal()
    assert proposal.key_arn == KEY
    assert (proposal.region, proposal.account) == ("ap-northeast-1", "111122223333")
    assert proposal.requester_id == "UREQ"
    assert proposal.thread_ts == "1700.1"
    assert proposal.expires_at == NOW + timedelta(hours=1)
    assert proposal.policy_sha256_before == policy_sha256(BEFORE)
    assert proposal.policy_sha256_after == policy_sha256(AFTER)
    assert proposal.state == "pending"
    assert proposal.proposal_id == proposal_id_for("Ev1", 0) != proposal_id_for("Ev1", 1)


@pytest.mark.parametrize(
    "changes",
    [{"verified": False}, {"kind": "iam_policy_patch"}, {"policy_after": None}, {"key_arn": "abc-123"}],
)
def test_unproven_or_incomplete_fix_is_not_proposable(changes: dict[str, object]) -> None:
    with pytest.raises(NotProposable):
        proposal_from_fix(
            _fix(**changes), analysis_id="E", diagnosis_index=0, place=PLACE, now=NOW, ttl_seconds=60
        )


def test_proposable_fix_skips_aws_managed_keys_and_unverified_patches() -> None:
    diagnosis = Diagnosis(
        denial=Denial(action="kms:Decrypt"),
        verdict="implicit_deny",
        cause=Cause(catalogue=2, code="c", summary="s"),
        locks=(Lock(layer="key_policy", allows=False),),
        fixes=(_fix(verified=False), _fix()),
        key_manager="CUSTOMER",
    )
    assert proposable_fix(diagnosis) == _fix()
    assert proposable_fix(diagnosis.model_copy(update={"key_manager": "AWS"})) is None
    assert proposable_fix(diagnosis.model_copy(update={"fixes": (_fix(verified=False),)})) is None


def test_an_approver_other_than_the_requester_may_apply() -> None:
    assert _refusal(_proposal(), "UAPP") is None


def test_a_member_of_an_approver_group_may_apply() -> None:
    assert _refusal(_proposal(), "UGRP", approver_group_members=frozenset({"UGRP"})) is None


def test_someone_not_an_approver_is_refused() -> None:
    assert "not an approver" in (_refusal(_proposal(), "UOTHER") or "")


def test_the_requester_cannot_approve_their_own_patch_even_as_an_approver() -> None:
    assert "someone else" in (_refusal(_proposal(), "UREQ") or "")


def test_an_expired_proposal_is_refused() -> None:
    assert "expired" in (_refusal(_proposal(), "UAPP", now=NOW + timedelta(hours=1)) or "")
    assert _refusal(_proposal(), "UAPP", now=NOW + timedelta(minutes=59)) is None


@pytest.mark.parametrize("state", ["applied", "rejected", "reverted", "expired"])
def test_an_already_decided_proposal_is_refused(state: str) -> None:
    assert "already decided" in (_refusal(_proposal(state=state), "UAPP") or "")


def test_revert_needs_an_applied_patch_and_the_same_approver_rules() -> None:
    applied = _proposal(state="applied")
    late = NOW + timedelta(days=1)
    assert _refusal(applied, "UAPP", action="revert", now=late) is None
    assert _refusal(applied, "UREQ", action="revert") is not None
    assert _refusal(applied, "UOTHER", action="revert") is not None
    assert "reverted" in (_refusal(_proposal(), "UAPP", action="revert") or "")


def test_reject_is_open_to_the_requester_but_not_to_others() -> None:
    assert _refusal(_proposal(), "UREQ", action="reject", approver_users=frozenset()) is None
    assert _refusal(_proposal(), "UOTHER", action="reject") is not None
    assert _refusal(_proposal(state="applied"), "UAPP", action="reject") is not None


def test_live_policy_compares_as_parsed_json() -> None:
    reordered = {"Statement": [{"Effect": "Allow", "Sid": "Root"}], "Version": "2012-10-17"}
    assert live_policy_matches(reordered, policy_sha256(BEFORE))
    assert not live_policy_matches(AFTER, policy_sha256(BEFORE))
