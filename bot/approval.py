"""Pure rules for proposals: who may decide what, and when a proposal is expired or stale.

No I/O here: the web process checks these rules when a button is clicked and when the modal is
submitted, and the worker checks them again under the per-key lock before touching AWS.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from bot.diagnosis.models import Diagnosis, Fix
from bot.jobs import SlackPlace
from bot.policy_text import policy_sha256

ProposalState = Literal["pending", "applied", "rejected", "reverted", "expired"]
DecisionAction = Literal["apply", "reject", "revert"]


class Proposal(BaseModel):
    """A proven key-policy patch waiting for (or past) an approver's decision."""

    model_config = ConfigDict(frozen=True)

    proposal_id: str
    analysis_id: str
    key_arn: str
    region: str
    account: str
    requester_id: str
    channel_id: str
    thread_ts: str | None
    created_at: datetime
    expires_at: datetime
    diff: str
    summary: str = ""
    # The live policy the patch was computed from. The diagnosis gives only its hash, so the worker
    # records the policy itself when it re-reads it just before applying (it must hash the same).
    policy_before: dict[str, Any] | None = None
    policy_after: dict[str, Any]
    policy_sha256_before: str
    policy_sha256_after: str
    state: ProposalState = "pending"
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str = ""
    aws_request_id: str | None = None
    diagnosis_index: int = 0


class NotProposable(ValueError):
    """The fix is not a verified key-policy patch with everything an apply needs."""


def proposal_id_for(analysis_id: str, diagnosis_index: int) -> str:
    """Deterministic, so that an analysis job that runs twice yields the same proposal id."""
    digest = hashlib.sha256(f"{analysis_id}:{diagnosis_index}".encode()).hexdigest()
    return f"p-{digest[:20]}"


def proposable_fix(diagnosis: Diagnosis) -> Fix | None:
    """The fix an Approve button may apply: a verified key-policy patch on a customer-managed key."""
    if diagnosis.key_manager == "AWS":
        return None
    for fix in diagnosis.fixes:
        if (
            fix.kind == "key_policy_patch"
            and fix.verified
            and fix.policy_after is not None
            and fix.key_arn
            and fix.policy_sha256_before
        ):
            return fix
    return None


def _key_arn_parts(key_arn: str) -> tuple[str, str]:
    parts = key_arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "kms" or not parts[3] or not parts[4]:
        raise NotProposable(f"not a KMS key ARN: {key_arn!r}")
    return parts[3], parts[4]


def proposal_from_fix(
    fix: Fix,
    *,
    analysis_id: str,
    diagnosis_index: int,
    place: SlackPlace,
    now: datetime,
    ttl_seconds: int,
) -> Proposal:
    """Build the pending Proposal for a key-policy patch; raises NotProposable when it cannot apply."""
    if fix.kind != "key_policy_patch" or not fix.verified:
        raise NotProposable("only a verified key-policy patch can be proposed")
    if fix.policy_after is None or not fix.key_arn or not fix.policy_sha256_before:
        raise NotProposable("the patch lacks its key ARN, resulting policy or the hash it applies to")
    region, account = _key_arn_parts(fix.key_arn)
    return Proposal(
        proposal_id=proposal_id_for(analysis_id, diagnosis_index),
        analysis_id=analysis_id,
        key_arn=fix.key_arn,
        region=region,
        account=account,
        requester_id=place.user_id,
        channel_id=place.channel_id,
        thread_ts=place.thread_ts or place.message_ts,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
        diff=fix.diff or "",
        summary=fix.summary,
        policy_after=fix.policy_after,
        policy_sha256_before=fix.policy_sha256_before,
        policy_sha256_after=policy_sha256(fix.policy_after),
        diagnosis_index=diagnosis_index,
    )


def is_expired(proposal: Proposal, now: datetime) -> bool:
    return now >= proposal.expires_at


def approval_refusal(
    proposal: Proposal,
    user_id: str,
    *,
    approver_users: frozenset[str],
    approver_group_members: frozenset[str],
    now: datetime,
    action: DecisionAction = "apply",
) -> str | None:
    """None when `user_id` may take `action` on the proposal now; else the reason, for that user.

    Rejecting is open to the requester too (withdrawing one's own request harms nothing); applying
    and reverting change a key policy, so they need an approver who is not the requester.
    """
    is_approver = user_id in approver_users or user_id in approver_group_members
    if action == "reject":
        if not is_approver and user_id != proposal.requester_id:
            return "Only an approver (KMS_WHY_APPROVERS) or the person who asked can reject this patch."
    else:
        if not is_approver:
            return "You are not an approver (KMS_WHY_APPROVERS), so you cannot approve this patch."
        if user_id == proposal.requester_id:
            return "You asked for this analysis, so someone else must approve its patch."
    if action == "revert":
        if proposal.state != "applied":
            return f"Only an applied patch can be reverted; this one is {proposal.state}."
        return None
    if proposal.state != "pending":
        return f"This patch was already decided: it is {proposal.state}."
    if action == "apply" and is_expired(proposal, now):
        return "This proposal has expired; paste the error again for a fresh analysis."
    return None


def live_policy_matches(live_policy: dict[str, Any], expected_sha256: str) -> bool:
    """Parsed-JSON equality through the canonical hash: whitespace and key order do not count."""
    return policy_sha256(live_policy) == expected_sha256


def stale_policy_message(proposal: Proposal, *, action: DecisionAction = "apply") -> str:
    if action == "revert":
        return (
            f"Not reverted: the key policy of {proposal.key_arn} changed after the patch was applied, "
            "so restoring the old policy would undo someone else's change."
        )
    return (
        f"Not applied: the key policy of {proposal.key_arn} changed since the analysis. "
        "Paste the error again (or use /kms-why) for a fresh analysis."
    )
