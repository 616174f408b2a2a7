"""Answers decided before the policies are weighed: key-state lookalikes, AWS managed keys, operations
that cannot cross accounts (kms-evaluation.md §2.5, §2.6, §2.35) (pure).
"""

from __future__ import annotations

from bot.diagnosis.document import Built, region_of
from bot.diagnosis.findings import Finding, is_cross
from bot.parse.models import Denial
from bot.snapshot import Snapshot

CROSS_ACCOUNT_OPERATIONS = frozenset(
    a.lower()
    for a in (
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:GenerateDataKeyPair",
        "kms:GenerateDataKeyPairWithoutPlaintext",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
        "kms:Sign",
        "kms:Verify",
        "kms:GenerateMac",
        "kms:VerifyMac",
        "kms:DeriveSharedSecret",
        "kms:GetPublicKey",
        "kms:CreateGrant",
        "kms:DescribeKey",
        "kms:GetKeyRotationStatus",
        "kms:ListGrants",
        "kms:RetireGrant",
        "kms:RevokeGrant",
    )
)


def lookalike(denial: Denial, snapshot: Snapshot, built: Built) -> Finding | None:
    """Key-state and ciphertext problems that AWS reports but no policy causes (kms-evaluation.md §2.5)."""
    code = (denial.error_code or "").removesuffix("Exception").lower()
    if denial.denial_kind == "invalid_ciphertext" or code == "invalidciphertext":
        return Finding("invalid_ciphertext")
    state = snapshot.key.state if snapshot.key else None
    if state == "Disabled" or code == "disabled":
        return Finding("key_disabled", {"state": "Disabled"})
    if state in ("PendingDeletion", "PendingReplicaDeletion"):
        return Finding("key_pending_deletion", {"state": state})
    if state in ("PendingImport", "Unavailable", "Creating", "Updating"):
        return Finding("key_unavailable", {"state": state})
    if code == "kmsinvalidstate":
        return Finding("key_unavailable", {"state": state or "not usable"})
    asked = denial.region or region_of(denial.resource_arn)
    wrong_region = bool(snapshot.key and asked and snapshot.key.region != asked)
    # DescribeKey in the key's own account and Region said NotFound: a wrong Region or a deleted key,
    # whatever the paste called it (the vague "does not exist… or not allowed" form included).
    missing = bool(snapshot.key and snapshot.key.not_found)
    if code == "notfound" or wrong_region or missing:
        facts = {"state": "not found"} if missing else {}
        return Finding("key_not_found_wrong_region", facts)
    return None


def before_engine(denial: Denial, snapshot: Snapshot, built: Built) -> Finding | None:
    """Rows decided by facts alone: AWS managed keys, operations that cannot cross accounts."""
    action = (denial.action or "").lower()
    cross = is_cross(built)
    if snapshot.key and snapshot.key.manager == "AWS":
        if cross:
            return Finding("aws_managed_key_cross_account", failing_layer="key_policy")
        if built.via_known and built.via_service is None:
            return Finding("aws_managed_key_direct_use", failing_layer="key_policy")
    if cross and action and action not in CROSS_ACCOUNT_OPERATIONS:
        return Finding("cross_account_operation_unsupported")
    return None
