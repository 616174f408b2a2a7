"""Fixes no patch can make: who owns the SCP or RCP, re-encrypting off an AWS managed key, key state,
and what to change in how the call is made; each with the AWS CLI commands to check or apply (pure).
"""

from __future__ import annotations

from bot.diagnosis.document import Built
from bot.diagnosis.findings import Finding
from bot.diagnosis.models import Fix, Lock
from bot.snapshot import Snapshot


def _region(built: Built) -> str:
    return f" --region {built.region}" if built.region else ""


def _lock(locks: list[Lock], layer: str) -> Lock | None:
    return next((lock for lock in locks if lock.layer == layer), None)


def advice(finding: Finding, built: Built, snapshot: Snapshot, locks: list[Lock]) -> list[Fix]:
    code = finding.code
    key_arn, region = built.key_arn, _region(built)
    if code in ("scp_explicit_deny", "scp_allow_list_gap", "rcp_denies"):
        layer = "rcp" if code == "rcp_denies" else "scp"
        lock = _lock(locks, layer)
        name = (lock.policy if lock else None) or f"the {layer.upper()} on the account's OU path"
        owner = (snapshot.org.management_account if snapshot.org else None) or "the organization's management"
        pid = name.rsplit("/", 1)[-1] if name.startswith("arn:") else name
        what = (
            "add an exception (e.g. ArnNotLike aws:PrincipalArn) to statement "
            f"{lock.statement if lock and lock.statement else '?'}"
            if "deny" in code or code == "rcp_denies"
            else f"allow {built.document.request.action} at that level"
        )
        return [
            Fix(
                kind="org_policy_change",
                summary=f"{name} is owned by the organization administrators "
                f"(account {owner}): {what}. No key or IAM policy can override it.",
                commands=(
                    f"aws organizations describe-policy --policy-id {pid}",
                    f"aws organizations list-targets-for-policy --policy-id {pid}",
                ),
            )
        ]
    if code in ("aws_managed_key_cross_account", "aws_managed_key_direct_use"):
        return [
            Fix(
                kind="reencrypt",
                summary="An AWS managed key's policy cannot be changed: create a customer "
                "managed key, share it with the other account in its key policy, and re-encrypt the data "
                "under it (S3: copy the objects in place with the new key; EBS/RDS: copy the snapshot "
                "with it).",
                commands=(
                    f"aws kms create-key --description 'shared replacement for {key_arn}'{region}",
                    "aws s3 cp s3://BUCKET/ s3://BUCKET/ --recursive --sse aws:kms "
                    "--sse-kms-key-id NEW_KEY_ARN",
                ),
            )
        ]
    simple = {
        "key_disabled": (
            "Enable the key, if it was disabled by mistake.",
            (
                f"aws kms enable-key --key-id {key_arn}{region}",
                f"aws kms describe-key --key-id {key_arn}{region} --query KeyMetadata.KeyState",
            ),
        ),
        "key_pending_deletion": (
            "Cancel the scheduled deletion, then enable the key.",
            (
                f"aws kms cancel-key-deletion --key-id {key_arn}{region}",
                f"aws kms enable-key --key-id {key_arn}{region}",
            ),
        ),
        "key_unavailable": (
            "Wait for the key to leave its state, or finish the import / restore its key store.",
            (f"aws kms describe-key --key-id {key_arn}{region}",),
        ),
        "key_not_found_wrong_region": (
            "Call KMS in the key's Region with the full key ARN (aliases and key ids "
            "are looked up in the caller's own account and Region).",
            (f"aws kms describe-key --key-id {key_arn}{region}",),
        ),
        "invalid_ciphertext": (
            "Decrypt with exactly the encryption context used at Encrypt (same pairs, same "
            "case) and the right ciphertext; no policy change helps.",
            (),
        ),
        "key_policy_requires_via_service": (
            f"Call through the service the policy expects "
            f"({finding.facts.get('expected', '?')}) instead of KMS directly.",
            (),
        ),
        "identity_policy_explicit_deny": (
            "Change the Deny statement in the IAM policy (or the tag or context it "
            "tests); no key-policy change can override an explicit Deny.",
            (),
        ),
        "key_policy_explicit_deny": (
            "Call under the conditions the Deny exempts, or add the principal to its "
            "exception list after review.",
            (),
        ),
        "principal_org_id_condition": (
            "Add the caller's account explicitly, or for service principals use "
            "aws:SourceOrgID / aws:SourceAccount.",
            (),
        ),
        "network_condition": (
            "Add an aws:ViaAWSService exception (BoolIfExists false) to the network Deny, or "
            "call through the expected VPC endpoint.",
            (),
        ),
        "deny_not_principal_with_boundary": (
            "Rewrite the Deny with ArnNotEquals aws:PrincipalArn instead of "
            "NotPrincipal (AWS's recommendation).",
            (),
        ),
        "session_policy_missing_allow": (
            "Add the KMS action on the key ARN to the session policy the role is "
            "assumed with (the broker's or vended-credentials template).",
            (),
        ),
        "vpc_endpoint_policy_blocks": (
            "Update the KMS VPC endpoint policy to allow the action on this key.",
            (),
        ),
        "cross_account_operation_unsupported": (
            f"Assume a role in account {built.key_account} and call it there.",
            (),
        ),
        "grant_does_not_apply": (
            "Create the grant again with the right operations and constraints, or pass "
            "the grant token; a new grant can take up to 5 minutes.",
            (
                f"aws kms list-grants --key-id {key_arn}{region}",
                f"aws kms create-grant --key-id {key_arn}{region} --grantee-principal "
                f"{built.role_arn} --operations {built.document.request.action.split(':')[-1]}",
            ),
        ),
        "evidence_disagrees": (
            "Look up the denied call in CloudTrail (encryption context, VPC endpoint, session "
            "policy) and paste it; a change made in the last minutes may also not have "
            "propagated yet.",
            (
                "aws cloudtrail lookup-events --lookup-attributes "
                "AttributeKey=EventName,AttributeValue="
                f"{built.document.request.action.split(':')[-1]}{region}",
            ),
        ),
    }
    if code in simple:
        summary, cmds = simple[code]
        return [Fix(kind="other", summary=summary, commands=cmds)]
    return []
