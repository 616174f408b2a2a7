"""Evaluate one policy set (a layer) for one request: allows, explicit denies, matches and misses (§2 D).

`allows` of a layer means "some Allow statement matches" (for SCP levels: every level has one). It is
kept apart from `explicit_deny`: a layer can both allow and deny; the deny wins in the decision.
Matched statements carry `principal_match` for key-policy statements and grants only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.policy import memo
from bot.policy.context import Context
from bot.policy.grants import Grant
from bot.policy.principals import Caller
from bot.policy.simulation import MatchedStatement, PolicyType, StatementMiss
from bot.policy.statements import CompiledPolicy


@dataclass(slots=True)
class Layer:
    layer: PolicyType
    applies: bool = False
    allows: bool | None = None
    allow_hits: list[MatchedStatement] = field(default_factory=list)
    deny_hits: list[MatchedStatement] = field(default_factory=list)
    misses: list[StatementMiss] = field(default_factory=list)
    failing_levels: list[int] = field(default_factory=list)

    @property
    def explicit_deny(self) -> bool:
        return bool(self.deny_hits)

    @property
    def classes(self) -> set[str]:
        return {hit.principal_match for hit in self.allow_hits if hit.principal_match is not None}


@dataclass(frozen=True, slots=True)
class Request:
    caller: Caller
    action: str
    resource: str
    context: Context
    has_boundary: bool


def scan(
    layer: Layer, policy: CompiledPolicy, index: int, request: Request, level: int | None = None
) -> bool:
    """Evaluate every statement of `policy` into `layer`; True when one of its Allows matched."""
    kind = layer.layer
    candidates, static_misses = policy.plan(
        request.action, request.caller, request.has_boundary, kind, index, level
    )
    if static_misses:
        layer.misses.extend(static_misses)
    allowed = False
    keep_class = kind == "key_policy"
    context, resource = request.context, request.resource
    for statement, principal in candidates:
        outcome = statement.evaluate_rest(resource, context, principal)
        if outcome.matched:
            hit = memo.matched(
                kind, statement.allow, index, statement.label, level, principal if keep_class else None
            )
            if statement.allow:
                layer.allow_hits.append(hit)
                allowed = True
            else:
                layer.deny_hits.append(hit)
        else:
            for miss in outcome.misses:
                layer.misses.append(
                    memo.statement_miss(kind, index, statement.label, statement.allow, level, miss)
                )
    return allowed


def policy_layer(kind: PolicyType, policies: list[CompiledPolicy], request: Request, applies: bool) -> Layer:
    layer = Layer(kind, applies=applies)
    if not applies:
        return layer
    allowed = False
    for index, policy in enumerate(policies):
        allowed = scan(layer, policy, index, request) or allowed
    layer.allows = allowed
    return layer


def levels_layer(
    kind: PolicyType,
    levels: list[list[CompiledPolicy]],
    request: Request,
    applies: bool,
    implicit_allow: bool,
) -> Layer:
    """SCP/RCP levels, root first. Every level needs an Allow; RCPs carry RCPFullAWSAccess at every
    level (AWS attaches it and it cannot be detached), so `implicit_allow` makes each level allow."""
    layer = Layer(kind, applies=applies)
    if not applies:
        return layer
    for level, policies in enumerate(levels):
        allowed = implicit_allow
        for index, policy in enumerate(policies):
            allowed = scan(layer, policy, index, request, level) or allowed
        if not allowed:
            layer.failing_levels.append(level)
    layer.allows = not layer.failing_levels
    return layer


def grants_layer(grants: list[Grant], request: Request) -> Layer:
    layer = Layer("grants", applies=bool(grants))
    if not grants:
        return layer
    for grant in grants:
        misses = grant.evaluate(request.action, request.caller, request.context)
        if misses:
            layer.misses.extend(
                memo.statement_miss("grants", grant.index, grant.label, True, None, miss) for miss in misses
            )
        else:
            match = grant.grantee.match(request.caller)
            layer.allow_hits.append(memo.matched("grants", True, grant.index, grant.label, None, match))
    layer.allows = bool(layer.allow_hits)
    return layer
