"""One policy's answer to one request (an `Outcome`), computed from its `Plan` (kms-evaluation.md §2.14).

An outcome depends only on the plan (action, caller, position), the resource and the values of the
context keys the plan's candidate statements mention; `CompiledPolicy.outcome` caches it per distinct
combination, so outcomes are shared between evaluations and never mutated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.policy import memo
from bot.policy.context import Context
from bot.policy.principals import Caller
from bot.policy.simulation import MatchedStatement, PolicyType, StatementMiss

if TYPE_CHECKING:
    from bot.policy.policies import Plan

Hits = tuple[MatchedStatement, ...]
Misses = tuple[StatementMiss, ...]


class Request:
    """What one evaluation asks (plain slots: built on every evaluation; never mutated).
    `explain` False leaves out the statement misses, for callers that do not read them."""

    __slots__ = ("action", "caller", "context", "explain", "has_boundary", "resource")

    def __init__(
        self, caller: Caller, action: str, resource: str, context: Context, has_boundary: bool, explain: bool
    ) -> None:
        self.caller = caller
        self.action = action
        self.resource = resource
        self.context = context
        self.has_boundary = has_boundary
        self.explain = explain


class Outcome:
    """Whether an Allow matched, the matching statements and (when explaining) the misses in statement
    order. Identity-hashed: the layer and decision caches key on the object itself."""

    __slots__ = ("allowed", "allows", "denies", "misses")

    def __init__(self, allows: Hits, denies: Hits, misses: Misses) -> None:
        self.allowed = bool(allows)
        self.allows = allows
        self.denies = denies
        self.misses = misses


def compute(plan: Plan, kind: PolicyType, index: int, level: int | None, request: Request) -> Outcome:
    allows: list[MatchedStatement] = []
    denies: list[MatchedStatement] = []
    context, resource, explain = request.context, request.resource, request.explain
    misses: list[StatementMiss] = list(plan.static_misses) if explain else []
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
    return intern(tuple(allows), tuple(denies), tuple(misses))


# Outcomes by content, so that policies that answer alike (most often: nothing matched) share one
# `Outcome`, and the layers and decisions cached by outcome identity are shared with them. Matched
# statements and misses are themselves shared by content (`memo`), so their ids stand for their
# content; the entries hold them, so the ids stay unique while they live.
_OUTCOMES: dict[tuple[int, ...], Outcome] = {}
_LIMIT = 50_000


def intern(allows: Hits, denies: Hits, misses: Misses) -> Outcome:
    key = (len(allows), len(denies), *map(id, allows), *map(id, denies), *map(id, misses))
    found = _OUTCOMES.get(key)
    if found is None:
        if len(_OUTCOMES) >= _LIMIT:
            _OUTCOMES.clear()
        found = _OUTCOMES[key] = Outcome(allows, denies, misses)
    return found


def clear() -> None:
    _OUTCOMES.clear()
