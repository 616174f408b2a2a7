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
from bot.policy.policies import CompiledPolicy, Plan
from bot.policy.principals import Caller
from bot.policy.simulation import MatchedStatement, PolicyType, StatementMiss


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


# Shared stand-ins for layers that do not apply (never mutated).
_INERT: dict[str, Layer] = {}


def inert(kind: PolicyType) -> Layer:
    found = _INERT.get(kind)
    if found is None:
        found = _INERT[kind] = Layer(kind)
    return found


@dataclass(frozen=True, slots=True)
class Request:
    caller: Caller
    action: str
    resource: str
    context: Context
    has_boundary: bool
    # False: leave out the statement misses (`SimulationResult.misses`), for callers that do not read them.
    explain: bool = True


Outcomes = tuple[bool, tuple[MatchedStatement, ...], tuple[MatchedStatement, ...], tuple[StatementMiss, ...]]


def scan(
    layer: Layer, policy: CompiledPolicy, index: int, request: Request, level: int | None = None
) -> bool:
    """Evaluate every statement of `policy` into `layer`; True when one of its Allows matched.

    The outcome depends only on the plan (action, caller, position), the resource and the values of the
    context keys its candidate statements mention, so it is computed once per distinct combination."""
    plan = policy.plan(request.action, request.caller, request.has_boundary, layer.layer, index, level)
    if not plan.candidates:
        # Only action and principal misses: nothing depends on the resource or the context.
        if request.explain and plan.static_misses:
            layer.misses.extend(plan.static_misses)
        return False
    # Outcomes without misses (explain False) are cached apart from complete ones.
    key = (
        request.explain,
        request.resource if plan.by_resource else None,
        *map(request.context.values.get, plan.keys),
    )
    outcome: Outcomes | None = plan.outcomes.get(key)
    if outcome is None:
        outcome = _outcomes(plan, layer.layer, index, level, request)
        if len(plan.outcomes) >= 256:
            plan.outcomes.clear()
        plan.outcomes[key] = outcome
    allowed, allows, denies, misses = outcome
    if request.explain:
        if plan.static_misses:
            layer.misses.extend(plan.static_misses)
        if misses:
            layer.misses.extend(misses)
    if allows:
        layer.allow_hits.extend(allows)
    if denies:
        layer.deny_hits.extend(denies)
    return allowed


def _outcomes(plan: Plan, kind: PolicyType, index: int, level: int | None, request: Request) -> Outcomes:
    allows: list[MatchedStatement] = []
    denies: list[MatchedStatement] = []
    misses: list[StatementMiss] = []
    context, resource = request.context, request.resource
    explain = request.explain
    for statement, hit in plan.candidates:
        if not explain:
            if statement.rest_matches(resource, context):
                (allows if statement.allow else denies).append(hit)
            continue
        statement_misses = statement.rest_misses(resource, context)
        if not statement_misses:
            (allows if statement.allow else denies).append(hit)
            continue
        label, allow = statement.label, statement.allow
        misses.extend(
            memo.statement_miss(kind, index, label, allow, level, miss) for miss in statement_misses
        )
    return bool(allows), tuple(allows), tuple(denies), tuple(misses)


def policy_layer(kind: PolicyType, policies: list[CompiledPolicy], request: Request, applies: bool) -> Layer:
    if not applies:
        return inert(kind)
    layer = Layer(kind, applies=True)
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
    if not applies:
        return inert(kind)
    layer = Layer(kind, applies=True)
    for level, policies in enumerate(levels):
        allowed = implicit_allow
        for index, policy in enumerate(policies):
            allowed = scan(layer, policy, index, request, level) or allowed
        if not allowed:
            layer.failing_levels.append(level)
    layer.allows = not layer.failing_levels
    return layer


def grants_layer(grants: list[Grant], request: Request) -> Layer:
    if not grants:
        return inert("grants")
    layer = Layer("grants", applies=True)
    for grant in grants:
        misses = grant.evaluate(request.action, request.caller, request.context)
        if misses:
            if not request.explain:
                continue
            layer.misses.extend(
                memo.statement_miss("grants", grant.index, grant.label, True, None, miss) for miss in misses
            )
        else:
            match = grant.grantee.match(request.caller)
            layer.allow_hits.append(memo.matched("grants", True, grant.index, grant.label, None, match))
    layer.allows = bool(layer.allow_hits)
    return layer
