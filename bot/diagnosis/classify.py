"""Which §4 row explains the engine's answer: the most specific one that fits (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.diagnosis.document import Built, account_of, region_of
from bot.diagnosis.statements import (
    UNIQUE_ID,
    as_list,
    aws_principals,
    condition_keys,
    condition_values,
    covers_action,
    covers_resource,
    kms_actions,
    label,
    names,
    statements,
)
from bot.parse.models import Denial
from bot.policy.simulation import FailingCheck, SimulationResult, StatementMiss
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
_NETWORK_KEYS = ("aws:sourceip", "aws:sourcevpce", "aws:sourcevpc", "aws:vpcsourceip")


@dataclass
class Finding:
    """A cause code, the facts for its sentence, and where a patch would act."""

    code: str
    facts: dict[str, str] = field(default_factory=dict)
    statement_index: int | None = None  # the key-policy statement at fault, if one is
    condition: tuple[str, str, str] | None = None  # (operator, key, value to add) for a condition patch
    replacing: str | None = None  # a dangling unique id (or old session ARN) to replace
    failing_layer: str | None = None


def _is_cross(built: Built) -> bool:
    return bool(
        built.principal_account and built.key_account and built.principal_account != built.key_account
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
    if code == "notfound" or wrong_region:
        return Finding("key_not_found_wrong_region")
    return None


def before_engine(denial: Denial, snapshot: Snapshot, built: Built) -> Finding | None:
    """Rows decided by facts alone: AWS managed keys, operations that cannot cross accounts."""
    action = (denial.action or "").lower()
    cross = _is_cross(built)
    if snapshot.key and snapshot.key.manager == "AWS":
        if cross:
            return Finding("aws_managed_key_cross_account", failing_layer="key_policy")
        if built.via_known and built.via_service is None:
            return Finding("aws_managed_key_direct_use", failing_layer="key_policy")
    if cross and action and action not in CROSS_ACCOUNT_OPERATIONS:
        return Finding("cross_account_operation_unsupported")
    return None


def classify(denial: Denial, snapshot: Snapshot, built: Built, result: SimulationResult) -> Finding:
    if result.decision == "allow":
        return Finding("evidence_disagrees")
    denies = [c for c in result.failing_checks if c.kind == "explicit_deny"]
    if denies:
        return _explicit(denies[0], snapshot, built)
    order = ("rcp", "scp", "vpc_endpoint", "key_policy", "identity", "permissions_boundary", "session")
    checks = sorted(
        result.failing_checks,
        key=lambda c: order.index(c.policy_type) if c.policy_type in order else len(order),
    )
    for check in checks:
        if check.policy_type == "rcp":
            return Finding("rcp_denies", failing_layer="rcp")
        if check.policy_type == "scp":
            return Finding("scp_allow_list_gap", failing_layer="scp")
        if check.policy_type == "vpc_endpoint":
            return Finding("vpc_endpoint_policy_blocks", failing_layer="vpc_endpoint")
        if check.policy_type in ("key_policy", "grants"):
            return _key_side(denial, built, result)
        if check.policy_type == "identity":
            return _identity_side(denial, snapshot, built)
        if check.policy_type == "permissions_boundary":
            return Finding("permissions_boundary_missing_allow", failing_layer="permissions_boundary")
        if check.policy_type == "session":
            return Finding("session_policy_missing_allow", failing_layer="session")
    return Finding("unclassified", {"layer": "policies"})


def _explicit(check: FailingCheck, snapshot: Snapshot, built: Built) -> Finding:
    layer = check.policy_type
    facts = {"statement": check.statement or "?"}
    if layer in ("key_policy", "identity"):
        policy = (
            built.document.key_policy
            if layer == "key_policy"
            else (
                built.document.identity_policies[check.policy_index]
                if check.policy_index is not None
                and check.policy_index < len(built.document.identity_policies)
                else None
            )
        )
        for index, statement in enumerate(statements(policy)):
            if label(statement, index) != check.statement:
                continue
            keys = [k.lower() for k in condition_keys(statement)]
            has_boundary = bool(snapshot.principal and snapshot.principal.has_boundary)
            if layer == "key_policy" and "NotPrincipal" in statement and has_boundary:
                return Finding("deny_not_principal_with_boundary", facts, index, failing_layer=layer)
            network = next((k for k in keys if k.startswith(_NETWORK_KEYS)), None)
            if network:
                return Finding("network_condition", {**facts, "key": network}, index, failing_layer=layer)
            if layer == "key_policy" and "aws:principalorgid" in keys:
                values = condition_values(statement, "aws:PrincipalOrgID")
                expected = ", ".join(v for _, vs in values for v in vs)
                return Finding(
                    "principal_org_id_condition", {**facts, "expected": expected}, index, failing_layer=layer
                )
        code = "key_policy_explicit_deny" if layer == "key_policy" else "identity_policy_explicit_deny"
        return Finding(code, facts, failing_layer=layer)
    codes = {
        "scp": "scp_explicit_deny",
        "rcp": "rcp_denies",
        "permissions_boundary": "permissions_boundary_missing_allow",
        "session": "session_policy_missing_allow",
        "vpc_endpoint": "vpc_endpoint_policy_blocks",
    }
    return Finding(codes.get(layer, "unclassified"), {**facts, "layer": layer}, failing_layer=layer)


def _miss_for(result: SimulationResult, statement_label: str) -> StatementMiss | None:
    return next(
        (
            m
            for m in result.misses
            if m.policy_type == "key_policy" and m.statement == statement_label and m.element == "condition"
        ),
        None,
    )


def _key_side(denial: Denial, built: Built, result: SimulationResult) -> Finding:
    action = denial.action or built.document.request.action
    cross = _is_cross(built)
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
        if key.startswith(_NETWORK_KEYS):
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


def _identity_side(denial: Denial, snapshot: Snapshot, built: Built) -> Finding:
    action = denial.action or built.document.request.action
    key_arn = built.key_arn
    key_id = key_arn.rsplit("/", 1)[-1]
    aliases = set(snapshot.key.aliases) if snapshot.key else set()
    base = "cross_account_iam_policy_missing_allow" if _is_cross(built) else "iam_policy_missing_allow"
    kms_on_key: list[str] = []
    for p_index, policy in enumerate(built.document.identity_policies):
        source = built.identity_sources[p_index] if p_index < len(built.identity_sources) else None
        name = (source.arn or source.name) if source else "?"
        for index, statement in enumerate(statements(policy)):
            if statement.get("Effect") != "Allow":
                continue
            resources = as_list(statement.get("Resource"))
            wrong = [
                r
                for r in resources
                if ":alias/" in r
                or r == key_id
                or r in aliases
                or r.startswith("alias/")
                or (
                    r.startswith("arn:aws:kms:")
                    and key_id in r
                    and r != key_arn
                    and account_of(r) == built.key_account
                    and not covers_resource(statement, key_arn)
                )
            ]
            if covers_action(statement, action) and wrong and not covers_resource(statement, key_arn):
                replica = key_id.startswith("mrk-") and region_of(wrong[0]) not in (None, built.region)
                if replica:
                    return Finding(
                        "multi_region_replica_arn",
                        {
                            "policy": name,
                            "statement": label(statement, index),
                            "expected": wrong[0],
                            "region": built.region or "?",
                        },
                        failing_layer="identity",
                    )
                return Finding(
                    "iam_policy_resource_not_key_arn",
                    {"policy": name, "statement": label(statement, index), "expected": wrong[0]},
                    failing_layer="identity",
                )
            if covers_resource(statement, key_arn) and not covers_action(statement, action):
                kms_on_key += kms_actions(statement)
    if kms_on_key:
        return Finding(
            "missing_workflow_action",
            {"granted": ", ".join(sorted(set(kms_on_key)))},
            failing_layer="identity",
        )
    return Finding(base, failing_layer="identity")
