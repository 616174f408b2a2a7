"""The fixes for a finding: a proven key-policy patch where the key policy is the failing lock, the IAM
statement to add where the IAM side is, and the owner and commands for everything a patch cannot fix.
"""

from __future__ import annotations

import json
from typing import Any

from bot.diagnosis.classify import Finding
from bot.diagnosis.document import Built
from bot.diagnosis.models import Fix, Lock
from bot.diagnosis.statements import statements
from bot.patch import (
    Change,
    Evaluator,
    Proposal,
    Refusal,
    add_statement,
    commands,
    extend_condition,
    extend_principals,
    propose,
    role_statement,
    root_statement,
    unique_sid,
)
from bot.policy.simulation import SimulationDocument
from bot.snapshot import Snapshot

Json = dict[str, Any]
_KEY_POLICY_CODES = frozenset(
    {
        "key_policy_missing_principal_no_root_delegation",
        "cross_account_key_policy_missing_caller",
        "key_policy_requires_via_service",
        "key_policy_via_service_mismatch",
        "key_policy_caller_account_restricted",
        "key_policy_dangling_unique_id",
        "key_policy_names_session",
        "missing_workflow_action",
        "create_grant_missing",
        "grant_does_not_apply",
        "encryption_context_condition_mismatch",
        "identity_center_role_mismatch",
    }
)
_CONTEXT_FIRST = frozenset({"key_policy_requires_via_service", "grant_does_not_apply"})
_IAM_CODES = frozenset(
    {
        "iam_policy_missing_allow",
        "cross_account_iam_policy_missing_allow",
        "iam_policy_resource_not_key_arn",
        "missing_workflow_action",
        "multi_region_replica_arn",
    }
)


def _region(built: Built) -> str:
    return f" --region {built.region}" if built.region else ""


def build_fixes(
    finding: Finding, built: Built, snapshot: Snapshot, locks: list[Lock], evaluate: Evaluator
) -> list[Fix]:
    code = finding.code
    failing = {lock.layer for lock in locks if lock.allows is False}
    fixes: list[Fix] = []
    iam_fix, iam_policy = (None, None)
    if (code in _IAM_CODES and "identity" in failing) or (
        code == "cross_account_key_policy_missing_caller" and "identity" in failing
    ):
        iam_fix, iam_policy = _iam_fix(built, evaluate, assume_key_ok=code.startswith("cross_account_key"))
    if code in _KEY_POLICY_CODES and "key_policy" in failing and finding.failing_layer == "key_policy":
        fixes += _key_policy_fixes(finding, built, snapshot, evaluate, iam_policy)
    if iam_fix is not None:
        fixes.append(iam_fix)
    others = _other_fixes(finding, built, snapshot, locks, evaluate)
    if code in _CONTEXT_FIRST:
        return others + fixes  # changing how the call is made beats widening the key policy
    return fixes + others


# --- key policy ------------------------------------------------------------------------------------


def _key_policy_fixes(
    finding: Finding, built: Built, snapshot: Snapshot, evaluate: Evaluator, iam_policy: Json | None
) -> list[Fix]:
    key = snapshot.key
    if key is None or key.policy is None:
        return []
    policy = key.policy
    role = built.role_arn or built.principal_arn
    action = built.document.request.action
    via = {"StringEquals": {"kms:ViaService": built.via_service}} if built.via_service else None
    options: list[tuple[Change, Json, str | None, str, set[str]]] = []
    index = finding.statement_index
    if finding.code in ("key_policy_dangling_unique_id", "key_policy_names_session") and index is not None:
        options.append(
            (
                "replace_principal",
                extend_principals(policy, index, role, replacing=finding.replacing),
                None,
                f"Replaces {finding.replacing} with {role} in the statement that already meant it.",
                set(),
            )
        )
    elif finding.code == "identity_center_role_mismatch" and built.principal_account:
        statement = _sso_statement(policy, role, built.principal_account, action)
        options.append(
            (
                "add_statement",
                add_statement(policy, statement),
                statement["Sid"],
                "Any role of this permission set in the account, whatever suffix IAM Identity Center gives "
                "it, whose IAM policies allow it; nobody else.",
                set(),
            )
        )
    elif finding.condition is not None and index is not None:
        operator, key_name, value = finding.condition
        options.append(
            (
                "extend_condition",
                extend_condition(policy, index, operator, key_name, value),
                None,
                f"Adds {value} to the {key_name} values of that statement: every principal it names "
                f'(for a "*" or account principal: any principal of account {built.principal_account} '
                f"whose IAM policies allow it) may then use this key that way.",
                {built.principal_account} if built.principal_account else set(),
            )
        )
    else:
        condition: Json | None = via
        actions = [action]
        if finding.code == "missing_workflow_action" and index is not None:
            condition = statements(policy)[index].get("Condition") or via
        if finding.code == "key_policy_requires_via_service":
            condition = None
        if finding.code == "create_grant_missing":
            condition = {"Bool": {"kms:GrantIsForAWSResource": "true"}}
        statement = role_statement(policy, role, actions, condition)
        granted = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        radius = f"Only {role} gains {', '.join(granted)}"
        radius += " on this key" + (
            f", and only through {built.via_service}." if condition == via and via else "."
        )
        if finding.code == "key_policy_requires_via_service":
            radius += (
                " It also lets the role call KMS directly, which the current policy deliberately prevents."
            )
        options.append(("add_statement", add_statement(policy, statement), statement["Sid"], radius, set()))
        if finding.code == "key_policy_missing_principal_no_root_delegation" and built.key_account:
            root = root_statement(policy, built.key_account)
            options.append(
                (
                    "restore_root",
                    add_statement(policy, root),
                    root["Sid"],
                    f"Every IAM principal of account {built.key_account} whose IAM policies allow kms "
                    f"actions (administrators included) could then use and manage this key.",
                    {built.key_account},
                )
            )
    document = built.document
    if iam_policy is not None:
        document = document.model_copy(
            update={"identity_policies": [*document.identity_policies, iam_policy]}
        )
    fixes: list[Fix] = []
    for change, after, sid, radius, accepted in options:
        try:
            proposal = propose(
                change,
                document,
                policy,
                after,
                evaluate,
                key_arn=built.key_arn,
                region=built.region,
                role_arn=built.role_arn,
                sid=sid,
                blast_radius=radius,
                intended_actions=[action],
                accepted_accounts=accepted,
                key_manager=key.manager,
            )
        except Refusal:
            return []
        fixes.append(_key_fix(proposal, change, role, iam_policy is not None))
    return fixes


def _sso_statement(policy: Json, role: str, account: str, action: str) -> Json:
    """Principal cannot hold wildcards: delegate to the account, match the permission set's roles by ARN."""
    permission_set = role.rsplit("/", 1)[-1].rsplit("_", 1)[0]
    pattern = f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/*/{permission_set}_*"
    return {
        "Sid": unique_sid(policy, f"KmsWhyAllow{permission_set}"),
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": [action, "kms:DescribeKey"] if action.lower() != "kms:describekey" else action,
        "Resource": "*",
        "Condition": {"ArnLike": {"aws:PrincipalArn": pattern}},
    }


def _key_fix(proposal: Proposal, change: Change, role: str, with_iam: bool) -> Fix:
    what = {
        "add_statement": f"Add a key-policy statement ({proposal.sid}) naming {role}",
        "restore_root": f"Or restore the key policy's delegation to the account ({proposal.sid})",
        "extend_principals": f"Add {role} to the existing key-policy statement",
        "replace_principal": f"Name {role} again in the key-policy statement",
        "extend_condition": "Extend the key-policy statement's condition",
    }[change]
    proof = proposal.proof
    if proposal.verified and proof.accepted_gains:
        check = "re-evaluated: the request is now allowed; other principals of the account gain access too"
    elif proposal.verified:
        check = "re-evaluated: the request is now allowed and no probe principal gains access"
    elif proof.gains:
        check = f"re-evaluated: NOT verified, others would gain access ({', '.join(proof.gains[:3])})"
    else:
        check = f"re-evaluated: NOT verified, the request is still {proof.decision.replace('_', ' ')}"
    if with_iam:
        check += " (together with the IAM statement below)"
    return Fix(
        kind="key_policy_patch",
        summary=f"{what}; {check}.",
        diff=proposal.diff,
        policy_sha256_before=proposal.sha256_before,
        verified=proposal.verified,
        key_arn=proposal.key_arn,
        policy_after=proposal.policy_after,
        commands=commands(proposal),
        blast_radius=proposal.blast_radius,
    )


# --- IAM side --------------------------------------------------------------------------------------


def _iam_fix(built: Built, evaluate: Evaluator, *, assume_key_ok: bool) -> tuple[Fix | None, Json | None]:
    role = built.role_arn
    if not role:
        return None, None
    action = built.document.request.action
    name = role.rsplit("/", 1)[-1]
    statement: Json = {
        "Sid": unique_sid({}, f"KmsWhy{name}"),
        "Effect": "Allow",
        "Action": [action],
        "Resource": built.key_arn,
    }
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    document = built.document.model_copy(
        update={"identity_policies": [*built.document.identity_policies, policy]}
    )
    allowed = evaluate(document).decision == "allow"
    kind = "user" if ":user/" in role else "role"
    text = json.dumps(policy, indent=2)
    policy_name = f"kms-why-{built.key_arn.rsplit('/', 1)[-1][:8]}"
    cmds = (
        f"cat > iam-statement.json <<'EOF'\n{text}\nEOF",
        f"aws iam put-{kind}-policy --{kind}-name {name} --policy-name {policy_name} "
        f"--policy-document file://iam-statement.json",
        f"aws iam get-{kind}-policy --{kind}-name {name} --policy-name {policy_name}",
    )
    if allowed:
        check = "re-evaluated: the request is then allowed"
    elif assume_key_ok:
        check = "needed as well as the key-policy change above"
    else:
        check = "re-evaluated: NOT enough on its own"
    summary = (
        f"Add this IAM statement to {name} in account {built.principal_account} "
        f"(full key ARN, not an alias); {check}."
    )
    return Fix(
        kind="iam_policy_patch",
        summary=summary,
        statement=statement,
        verified=allowed,
        key_arn=built.key_arn,
        commands=cmds,
    ), policy


def _boundary_fix(built: Built, snapshot: Snapshot, evaluate: Evaluator) -> Fix:
    action = built.document.request.action
    statement: Json = {
        "Sid": "KmsWhyBoundaryKms",
        "Effect": "Allow",
        "Action": [action],
        "Resource": built.key_arn,
    }
    boundary = built.document.permissions_boundary or {"Version": "2012-10-17", "Statement": []}
    patched = dict(boundary)
    patched["Statement"] = [*statements(boundary), statement]
    document: SimulationDocument = built.document.model_copy(update={"permissions_boundary": patched})
    allowed = evaluate(document).decision == "allow"
    named = snapshot.principal.permissions_boundary if snapshot.principal else None
    arn = (named.arn if named else None) or "<boundary policy ARN>"
    return Fix(
        kind="iam_policy_patch",
        statement=statement,
        verified=allowed,
        key_arn=built.key_arn,
        summary=f"Add {action} on the key to the permissions boundary {arn}; naming the role in the key "
        f"policy does not bypass a boundary"
        + ("; re-evaluated: the request is then allowed." if allowed else "."),
        commands=(
            f"aws iam get-policy --policy-arn {arn}",
            f"aws iam create-policy-version --policy-arn {arn} --set-as-default "
            f"--policy-document file://boundary.patched.json",
        ),
    )


# --- everything else -------------------------------------------------------------------------------


def _lock(locks: list[Lock], layer: str) -> Lock | None:
    return next((lock for lock in locks if lock.layer == layer), None)


def _other_fixes(
    finding: Finding, built: Built, snapshot: Snapshot, locks: list[Lock], evaluate: Evaluator
) -> list[Fix]:
    code = finding.code
    key_arn, region = built.key_arn, _region(built)
    if code == "permissions_boundary_missing_allow":
        return [_boundary_fix(built, snapshot, evaluate)]
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
