"""Evaluate one policy set (a layer) for one request: allows, explicit denies, matches and misses (§2 D).

A layer is folded from the outcomes of its policies (`bot.policy.outcomes`). Layers are shared like
outcomes: the same outcomes give the same `Layer` object, which carries its `LayerResult`, so a request
that is new but decided by outcomes seen before costs little more than looking them up.

`allows` of a layer means "some Allow statement matches" (for SCP levels: every level has one). It is
kept apart from `explicit_deny`: a layer can both allow and deny; the deny wins in the decision.
Matched statements carry `principal_match` for key-policy statements and grants only.
"""

from __future__ import annotations

import itertools
from typing import Any

from bot.policy import memo
from bot.policy.grants import Grant
from bot.policy.outcomes import Hits, Misses, Outcome, Request
from bot.policy.simulation import LayerResult, MatchedStatement, PolicyType, StatementMiss

_LIMIT = 50_000


class Layer:
    """One lock, folded from its policies' outcomes. Shared between evaluations: never mutated."""

    __slots__ = (
        "allow_hits",
        "allows",
        "applies",
        "classes",
        "deny_hits",
        "explicit_deny",
        "failing_levels",
        "layer",
        "misses",
        "result",
        "verdict_key",
    )

    def __init__(
        self,
        layer: PolicyType,
        applies: bool = False,
        allows: bool | None = None,
        allow_hits: Hits = (),
        deny_hits: Hits = (),
        misses: Misses = (),
        failing_levels: tuple[int, ...] = (),
    ) -> None:
        self.layer = layer
        self.applies = applies
        self.allows = allows
        self.allow_hits = allow_hits
        self.deny_hits = deny_hits
        self.misses = misses
        self.failing_levels = failing_levels
        self.explicit_deny = bool(deny_hits)
        classes = frozenset(hit.principal_match for hit in allow_hits if hit.principal_match is not None)
        self.classes = _CLASSES.setdefault(classes, classes)  # a handful of distinct sets: share them
        self.result = (
            memo.layer_result(layer, allows, self.explicit_deny, (*deny_hits, *allow_hits))
            if applies
            else LayerResult(layer=layer, applies=False, allows=None)
        )
        # What the decision reads of this layer (`bot.policy.combine`), as a number: layers that agree
        # on it share it, and verdicts are cached by these numbers.
        self.verdict_key = _verdict_key((layer, applies, allows, self.classes, failing_levels, deny_hits))


# What a layer shows the decision → a number never given to anything else (a counter, not the table
# size, so that clearing the table cannot make two different contents share a number).
_VERDICT_KEYS: dict[tuple[Any, ...], int] = {}
_NUMBERS = itertools.count()


def _verdict_key(content: tuple[Any, ...]) -> int:
    found = _VERDICT_KEYS.get(content)
    if found is None:
        if len(_VERDICT_KEYS) >= _LIMIT:
            _VERDICT_KEYS.clear()
        found = _VERDICT_KEYS[content] = next(_NUMBERS)
    return found


_CLASSES: dict[frozenset[str | None], frozenset[str | None]] = {}
# Shared stand-ins for layers that do not apply.
_INERT: dict[str, Layer] = {}
# (kind, the outcomes it folds, ...) → the layer; the key holds the outcomes, so their ids stay unique.
_LAYERS: dict[tuple[Any, ...], Layer] = {}


def inert(kind: PolicyType) -> Layer:
    found = _INERT.get(kind)
    if found is None:
        found = _INERT[kind] = Layer(kind)
    return found


def clear() -> None:
    _LAYERS.clear()
    _SHARED.clear()


def _remember(key: tuple[Any, ...], layer: Layer) -> Layer:
    if len(_LAYERS) >= _LIMIT:
        _LAYERS.clear()
    _LAYERS[key] = layer
    return layer


def policy_layer(kind: PolicyType, outcomes: tuple[Outcome, ...], applies: bool, root: bool = False) -> Layer:
    """A layer of plain policies. `root`: the account root user, whose identity side always allows."""
    if not applies:
        return inert(kind)
    key = (kind, root, *outcomes)
    found = _LAYERS.get(key)
    if found is not None:
        return found
    if len(outcomes) == 1:
        only = outcomes[0]
        allows, denies, misses, allowed = only.allows, only.denies, only.misses, only.allowed
    else:
        allows = tuple(hit for item in outcomes for hit in item.allows)
        denies = tuple(hit for item in outcomes for hit in item.denies)
        misses = tuple(miss for item in outcomes for miss in item.misses)
        allowed = any(item.allowed for item in outcomes)
    return _remember(key, shared(kind, allowed or root, allows, denies, misses))


def levels_layer(
    kind: PolicyType, levels: tuple[tuple[Outcome, ...], ...], applies: bool, implicit_allow: bool
) -> Layer:
    """SCP/RCP levels, root first. Every level needs an Allow; RCPs carry RCPFullAWSAccess at every
    level (AWS attaches it and it cannot be detached), so `implicit_allow` makes each level allow."""
    if not applies:
        return inert(kind)
    key = (kind, implicit_allow, *levels)
    found = _LAYERS.get(key)
    if found is not None:
        return found
    failing = tuple(
        level
        for level, outcomes in enumerate(levels)
        if not implicit_allow and not any(item.allowed for item in outcomes)
    )
    flat = [item for outcomes in levels for item in outcomes]
    return _remember(
        key,
        shared(
            kind,
            not failing,
            tuple(hit for item in flat for hit in item.allows),
            tuple(hit for item in flat for hit in item.denies),
            tuple(miss for item in flat for miss in item.misses),
            failing,
        ),
    )


def grants_layer(grants: list[Grant], request: Request) -> Layer:
    if not grants:
        return inert("grants")
    caller, explain = request.caller, request.explain
    allows: list[MatchedStatement] = []
    misses: list[StatementMiss] = []
    for grant in grants:
        found = grant.evaluate(request.action, caller, request.context)
        if not found:
            match = grant.grantee.match(caller)
            allows.append(memo.matched("grants", True, grant.index, grant.label, None, match))
        elif explain:
            misses.extend(
                memo.statement_miss("grants", grant.index, grant.label, True, None, miss) for miss in found
            )
    return shared("grants", bool(allows), tuple(allows), (), tuple(misses))


# Layers by content: matched statements and misses are shared by content (`memo`), so their ids stand
# for it; the entries hold them, so the ids stay unique while they live.
_SHARED: dict[tuple[Any, ...], Layer] = {}


def shared(
    kind: PolicyType,
    allows: bool,
    allow_hits: Hits,
    deny_hits: Hits,
    misses: Misses,
    failing_levels: tuple[int, ...] = (),
) -> Layer:
    """The one `Layer` with this content (made when first seen)."""
    key = (
        kind,
        allows,
        failing_levels,
        len(allow_hits),
        len(deny_hits),
        *map(id, allow_hits),
        *map(id, deny_hits),
        *map(id, misses),
    )
    found = _SHARED.get(key)
    if found is None:
        if len(_SHARED) >= _LIMIT:
            _SHARED.clear()
        found = _SHARED[key] = Layer(kind, True, allows, allow_hits, deny_hits, misses, failing_levels)
    return found
