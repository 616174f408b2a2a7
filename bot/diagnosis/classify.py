"""Which §4 row explains the engine's answer: the most specific one that fits (pure)."""

from __future__ import annotations

from bot.diagnosis.document import Built, account_of, region_of
from bot.diagnosis.findings import NETWORK_KEYS, Finding, is_cross
from bot.diagnosis.key_side import key_side
from bot.diagnosis.statements import (
    as_list,
    condition_keys,
    condition_values,
    covers_action,
    covers_resource,
    kms_actions,
    label,
    statements,
)
from bot.parse.models import Denial
from bot.policy.simulation import FailingCheck, SimulationResult
from bot.snapshot import Snapshot


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
            return key_side(denial, built, result)
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
            network = next((k for k in keys if k.startswith(NETWORK_KEYS)), None)
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


def _identity_side(denial: Denial, snapshot: Snapshot, built: Built) -> Finding:
    action = denial.action or built.document.request.action
    key_arn = built.key_arn
    key_id = key_arn.rsplit("/", 1)[-1]
    aliases = set(snapshot.key.aliases) if snapshot.key else set()
    base = "cross_account_iam_policy_missing_allow" if is_cross(built) else "iam_policy_missing_allow"
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
