"""Each layer the engine evaluated, as a lock that allows, refuses, or could not be seen (pure)."""

from __future__ import annotations

from bot.diagnosis.document import Built
from bot.diagnosis.models import LAYER_ORDER, Layer, Lock, layer_words
from bot.policy.simulation import FailingCheck, MatchedStatement, PolicyType, SimulationResult
from bot.snapshot import NamedPolicy, Snapshot


def _name(policy: NamedPolicy | None) -> str | None:
    if policy is None:
        return None
    return policy.arn or policy.name


def policy_name(
    built: Built, snapshot: Snapshot, layer: str, index: int | None, level: int | None = None
) -> str | None:
    """The ARN or name of the policy the engine reported by layer, level and index."""
    if layer == "key_policy":
        return built.key_arn
    if layer == "identity" and index is not None and 0 <= index < len(built.identity_sources):
        return _name(built.identity_sources[index])
    if layer == "permissions_boundary" and snapshot.principal is not None:
        return _name(snapshot.principal.permissions_boundary)
    if layer == "session":
        return _name(snapshot.session_policy)
    if layer == "vpc_endpoint":
        return _name(snapshot.vpc_endpoint_policy)
    if layer in ("scp", "rcp") and index is not None:
        levels = built.scp_sources if layer == "scp" else built.rcp_sources
        candidates = [levels[level]] if level is not None and 0 <= level < len(levels) else levels
        for policies in candidates:
            if 0 <= index < len(policies):
                return _name(policies[index])
    if layer == "grants" and index is not None:
        grants = built.document.grants
        if 0 <= index < len(grants):
            return str(grants[index].get("GrantId") or f"grant {index}")
    return None


def _first(matched: tuple[MatchedStatement, ...], layer: str, effect: str) -> MatchedStatement | None:
    return next((m for m in matched if m.policy_type == layer and m.effect == effect), None)


def _failing(result: SimulationResult, layer: str) -> FailingCheck | None:
    return next((check for check in result.failing_checks if check.policy_type == layer), None)


def _allows(result: SimulationResult, layer: PolicyType) -> bool | None:
    found = result.layer(layer)
    if found is not None:
        return found.allows
    return _failing(result, layer) is None


def _involved(result: SimulationResult, built: Built) -> list[Layer]:
    layers: list[Layer] = ["identity", "key_policy"]
    for found in result.layers:
        if found.applies and found.layer not in layers:
            layers.append(found.layer)
    for check in result.failing_checks:
        if check.policy_type not in layers:
            layers.append(check.policy_type)
    if built.document.grants and "grants" not in layers:
        layers.append("grants")
    if built.document.permissions_boundary is not None and "permissions_boundary" not in layers:
        layers.append("permissions_boundary")
    for name in ("scp", "rcp"):
        org_layer = result.layer(name)
        if org_layer is not None and not org_layer.applies:
            continue  # e.g. RCPs never apply to an AWS managed key
        if getattr(built.document, name + "s") and name not in layers:
            layers.append(name)
    for name in built.unseen_layers:
        if name in LAYER_ORDER and name not in layers:
            layers.append(name)
    return layers


def build_locks(built: Built, snapshot: Snapshot, result: SimulationResult) -> list[Lock]:
    locks: list[Lock] = []
    for layer in _involved(result, built):
        if layer in built.unseen_layers:
            locks.append(
                Lock(layer=layer, allows=None, explain=f"the bot could not read the {layer_words(layer)}")
            )
            continue
        if layer == "key_state":
            continue
        locks.append(_lock(built, snapshot, result, layer))
    locks.sort(key=lambda lock: LAYER_ORDER.index(lock.layer))
    return locks


def _lock(built: Built, snapshot: Snapshot, result: SimulationResult, layer: Layer) -> Lock:
    assert layer != "key_state"
    failing = _failing(result, layer)
    allows = _allows(result, layer)
    if failing is not None and failing.kind == "explicit_deny":
        return Lock(
            layer=layer,
            allows=False,
            statement=failing.statement,
            policy=policy_name(built, snapshot, layer, failing.policy_index, failing.level),
            explain=failing.explain or f"explicit Deny in the {layer_words(layer)}",
        )
    if failing is not None:
        return Lock(
            layer=layer,
            allows=False,
            policy=built.key_arn if layer == "key_policy" else _lone_policy(built, snapshot, layer),
            explain=failing.explain or f"no statement of the {layer_words(layer)} allows the request",
        )
    allow = _first(result.matched, layer, "Allow")
    if allow is None:
        found = result.layer(layer)
        if found is not None:
            allow = _first(found.matched, layer, "Allow")
    explain = None
    if layer == "key_policy" and allow is not None and allow.principal_match == "account":
        explain = "delegates to the caller's account (IAM policies decide)"
    if allows is False and layer == "grants":
        explain = "no grant admits the request"
    return Lock(
        layer=layer,
        allows=allows,
        statement=allow.statement if allow else None,
        policy=(
            policy_name(built, snapshot, layer, allow.policy_index, allow.level)
            if allow
            else (built.key_arn if layer == "key_policy" else None)
        ),
        explain=explain,
    )


def _lone_policy(built: Built, snapshot: Snapshot, layer: str) -> str | None:
    if layer in ("permissions_boundary", "session", "vpc_endpoint"):
        return policy_name(built, snapshot, layer, None)
    return None
