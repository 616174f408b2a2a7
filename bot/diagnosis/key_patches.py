"""Key-policy patches for a finding, each proven by `bot.patch` (pure).

Offered only when the key policy is the failing lock; the change is the smallest that names the role
(never the session), keeps the conditions the workflow needs, or repairs the statement that meant it.
"""

from __future__ import annotations

from typing import Any

from bot.diagnosis.document import Built
from bot.diagnosis.findings import Finding
from bot.diagnosis.models import Fix
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
from bot.snapshot import Snapshot

Json = dict[str, Any]
KEY_POLICY_CODES = frozenset(
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


def key_policy_fixes(
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
