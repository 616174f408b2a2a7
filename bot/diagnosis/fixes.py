"""The fixes for a finding, in the order a person should consider them: a proven key-policy patch where
the key policy is the failing lock (`key_patches`), the IAM or boundary statement to add where the IAM
side is (here, re-evaluated too), and advice with commands for everything a patch cannot fix (`advice`).
"""

from __future__ import annotations

import json
from typing import Any

from bot.diagnosis.advice import advice
from bot.diagnosis.document import Built
from bot.diagnosis.findings import Finding
from bot.diagnosis.key_patches import KEY_POLICY_CODES, key_policy_fixes
from bot.diagnosis.models import Fix, Lock
from bot.diagnosis.statements import statements
from bot.patch import (
    Evaluator,
    unique_sid,
)
from bot.policy.simulation import SimulationDocument
from bot.snapshot import Snapshot

Json = dict[str, Any]
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
    if code in KEY_POLICY_CODES and "key_policy" in failing and finding.failing_layer == "key_policy":
        fixes += key_policy_fixes(finding, built, snapshot, evaluate, iam_policy)
    if iam_fix is not None:
        fixes.append(iam_fix)
    if code == "permissions_boundary_missing_allow":
        others = [_boundary_fix(built, snapshot, evaluate)]
    else:
        others = advice(finding, built, snapshot, locks)
    if code in _CONTEXT_FIRST:
        return others + fixes  # changing how the call is made beats widening the key policy
    return fixes + others


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
