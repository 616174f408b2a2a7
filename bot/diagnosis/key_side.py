"""Why the key side refuses: the most specific §4 row among the key-policy and grant causes (pure)."""

from __future__ import annotations

from bot.diagnosis.document import Built, account_of
from bot.diagnosis.findings import NETWORK_KEYS, Finding, is_cross
from bot.diagnosis.statements import (
    UNIQUE_ID,
    as_list,
    aws_principals,
    condition_keys,
    condition_values,
    covers_action,
    kms_actions,
    label,
    names,
    statements,
)
from bot.parse.models import Denial
from bot.policy.simulation import SimulationResult, StatementMiss


def _miss_for(result: SimulationResult, statement_label: str) -> StatementMiss | None:
    return next(
        (
            m
            for m in result.misses
            if m.policy_type == "key_policy" and m.statement == statement_label and m.element == "condition"
        ),
        None,
    )


def key_side(denial: Denial, built: Built, result: SimulationResult) -> Finding:
    action = denial.action or built.document.request.action
    cross = is_cross(built)
    base = {"failing_layer": "key_policy"}
    if action.lower() == "kms:creategrant":
        return Finding("create_grant_missing", **base)  # type: ignore[arg-type]
    grant = _grant_for_caller(built, action)
    if grant is not None:
        return Finding("grant_does_not_apply", {"explain": grant}, **base)  # type: ignore[arg-type]
    policy = built.document.key_policy
    named: list[tuple[int, dict[str, object], str]] = []
    for index, statement in enumerate(statements(policy)):
        if statement.get("Effect") != "Allow":
            continue
        how = names(
            statement,
            role_arn=built.role_arn,
            principal_arn=built.principal_arn,
            account=built.principal_account,
        )
        if how is not None:
            named.append((index, statement, how))
    for index, statement, _how in named:
        if covers_action(statement, action) and statement.get("Condition"):
            found = _condition_cause(index, statement, built, result)
            if found is not None:
                return found
    for index, statement in enumerate(statements(policy)):
        if statement.get("Effect") != "Allow" or not covers_action(statement, action):
            continue
        for value in aws_principals(statement):
            if UNIQUE_ID.match(value):
                return Finding(
                    "key_policy_dangling_unique_id",
                    {"expected": value},
                    index,
                    replacing=value,
                    failing_layer="key_policy",
                )
            if built.role_arn and _other_sso_role(value, built):
                return Finding(
                    "identity_center_role_mismatch",
                    {"expected": value, "role_arn": built.role_arn},
                    index,
                    failing_layer="key_policy",
                )
            if built.role_arn and _old_session_of(value, built):
                return Finding(
                    "key_policy_names_session",
                    {"expected": value},
                    index,
                    replacing=value,
                    failing_layer="key_policy",
                )
    direct = [(i, s) for i, s, how in named if how in ("role", "session")]
    granted = sorted({a for _, s in direct for a in kms_actions(s)})
    if direct and not any(covers_action(s, action) for _, s in direct) and granted:
        return Finding(
            "missing_workflow_action",
            {"granted": ", ".join(granted)},
            direct[0][0],
            failing_layer="key_policy",
        )
    if cross:
        return Finding("cross_account_key_policy_missing_caller", failing_layer="key_policy")
    return Finding("key_policy_missing_principal_no_root_delegation", failing_layer="key_policy")


def _other_sso_role(value: str, built: Built) -> bool:
    """An `AWSReservedSSO_<set>_<suffix>` role of the caller's permission set, by another suffix or path."""
    role = built.role_arn or ""
    name = role.rsplit("/", 1)[-1]
    if not name.startswith("AWSReservedSSO_") or value == role or ":role/" not in value:
        return False
    permission_set = name.rsplit("_", 1)[0]
    other = value.rsplit("/", 1)[-1]
    return account_of(value) == built.principal_account and other.rsplit("_", 1)[0] == permission_set


def _old_session_of(value: str, built: Built) -> bool:
    role_name = (built.role_arn or "").rsplit("/", 1)[-1]
    prefix = f"arn:aws:sts::{built.principal_account}:assumed-role/{role_name}/"
    return value.startswith(prefix) and value != built.principal_arn


def _condition_cause(
    index: int, statement: dict[str, object], built: Built, result: SimulationResult
) -> Finding | None:
    stmt = dict(statement)
    sid = label(stmt, index)
    miss = _miss_for(result, sid)
    keys = [miss.key.lower()] if miss and miss.key else [k.lower() for k in condition_keys(stmt)]
    context = {k.lower(): v for k, v in built.document.request.context.items()}
    for key in keys:
        values = condition_values(stmt, key)
        if not values:
            continue
        operator, expected = values[0]
        facts = {"statement": sid, "expected": ", ".join(expected)}
        actual = context.get(key)
        if key == "kms:viaservice":
            if actual is None and not built.via_known:
                return Finding(
                    "key_policy_via_service_path_unknown", facts, index, failing_layer="key_policy"
                )
            if actual is None and built.via_known:
                return Finding("key_policy_requires_via_service", facts, index, failing_layer="key_policy")
            if actual is not None and str(actual) not in expected:
                return Finding(
                    "key_policy_via_service_mismatch",
                    {**facts, "actual": str(actual)},
                    index,
                    condition=(operator, "kms:ViaService", str(actual)),
                    failing_layer="key_policy",
                )
        if key == "kms:calleraccount" and actual is not None and str(actual) not in expected:
            return Finding(
                "key_policy_caller_account_restricted",
                facts,
                index,
                condition=(operator, "kms:CallerAccount", str(actual)),
                failing_layer="key_policy",
            )
        if key.startswith("kms:encryptioncontext:") and actual is not None and str(actual) not in expected:
            return Finding(
                "encryption_context_condition_mismatch",
                {**facts, "key": key, "actual": str(actual)},
                index,
                failing_layer="key_policy",
            )
        if key == "aws:principalorgid":
            return Finding("principal_org_id_condition", facts, index, failing_layer="key_policy")
        if key.startswith(NETWORK_KEYS):
            return Finding("network_condition", {**facts, "key": key}, index, failing_layer="key_policy")
    return None


def _grant_for_caller(built: Built, action: str) -> str | None:
    """Why a grant to the caller does not admit the request, if there is such a grant."""
    operation = action.split(":", 1)[-1]
    for grant in built.document.grants:
        grantee = str(grant.get("GranteePrincipal", ""))
        if grantee not in (built.role_arn, built.principal_arn):
            continue
        operations = as_list(grant.get("Operations"))
        if operation not in operations:
            return f"grant {grant.get('GrantId', '?')} allows {', '.join(operations)} but not {operation}"
        constraints = grant.get("Constraints") or {}
        if constraints:
            return f"grant {grant.get('GrantId', '?')} requires encryption context {constraints}"
        return f"grant {grant.get('GrantId', '?')} should apply; it may be too new (eventual consistency)"
    return None
