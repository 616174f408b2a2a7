"""Three-valued evaluation (§2.18, §2.38).

Each key in `request.unknown_keys` is tried absent, with every value a policy condition (or grant
constraint) compares it to, just below and above each number or date among them, and with some other
value (reported as `*`). All combinations are evaluated (one key at a time when there would be more
than 64). When they disagree, `decided_by_unknown` is True, `decision` is the least favourable outcome
(the engine never claims `allow` that depends on a guess), the other fields describe the first
combination giving it (trying "absent" first), a layer whose answer varies has `allows` None, and
`unknowns` lists each key that changes the outcome with the values (`allow_if`) or absence
(`allow_if_absent`) that allow.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.policy.conditions import parse_date, parse_number
from bot.policy.context import EC_PREFIX
from bot.policy.grants import Grant
from bot.policy.policies import CompiledPolicy
from bot.policy.results import LAYER_ORDER, Run, build_result
from bot.policy.simulation import Request, SimulationResult, Unknown

_RANK = {"allow": 0, "implicit_deny": 1, "explicit_deny": 2}
_OTHER = "\x00other"
_ABSENT: Any = object()
_MAX_COMBINATIONS = 64
# (the unknown keys given a value, by their spelling in `unknown_keys`; the lower-cased names of those
# absent) → the run with the rest of the request's context.
Runner = Callable[[dict[str, Any], frozenset[str]], Run]


def _candidates(policies: list[CompiledPolicy], grants: list[Grant], key_lower: str) -> list[Any]:
    values: list[Any] = [_ABSENT]
    for policy in policies:
        values.extend(policy.condition_values(key_lower))
    if key_lower.startswith(EC_PREFIX):
        name = key_lower[len(EC_PREFIX) :]
        for grant in grants:
            for constraint in (grant.equals or {}, grant.subset or {}):
                values.extend(v for k, v in constraint.items() if k.lower() == name)
    values.extend(_neighbours(values[1:]))
    values.append(_OTHER)
    return list(dict.fromkeys(values))


def _neighbours(values: list[Any]) -> list[str]:
    """Just below and above each number or date a policy compares with, so that Numeric*/Date*
    conditions on an unknown key get a value on either side of their bound."""
    return [found for value in values for found in _around(value)]


@functools.lru_cache(maxsize=4096)
def _around(value: str) -> tuple[str, ...]:
    number = parse_number(value)
    if number is not None and not math.isfinite(number):
        return ("0",)  # "inf" and "nan" parse as numbers; any finite number is on their other side
    if number is None:
        moment = parse_date(value)
        return () if moment is None else tuple(_stamps(moment - 1, moment + 1))
    if number == int(number):
        return (str(int(number) - 1), str(int(number) + 1))
    return (repr(number - 0.001), repr(number + 0.001))


def _stamps(*epochs: float) -> list[str]:
    """ISO stamps of the epochs that have one: a second past 9999-12-31T23:59:59Z (or before year 1)
    does not, and that side of such a bound is simply not tried."""
    found = []
    for epoch in epochs:
        try:
            found.append(_stamp(epoch))
        except (OverflowError, ValueError, OSError):
            continue
    return found


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _assignments(choices: list[list[Any]]) -> list[tuple[Any, ...]]:
    total = 1
    for options in choices:
        total *= len(options)
    if total <= _MAX_COMBINATIONS:
        return list(itertools.product(*choices))
    rows: list[tuple[Any, ...]] = [tuple(_ABSENT for _ in choices)]
    for position, options in enumerate(choices):
        for value in options[1:]:
            row = [_ABSENT] * len(choices)
            row[position] = value
            rows.append(tuple(row))
    return rows


def three_valued(
    request: Request, policies: list[CompiledPolicy], grants: list[Grant], run: Runner
) -> SimulationResult:
    """Evaluate with every plausible value of each unknown key (see the module docstring)."""
    keys = list(dict.fromkeys(request.unknown_keys))
    lowers = [key.lower() for key in keys]
    choices = [_candidates(policies, grants, lower) for lower in lowers]
    runs: list[tuple[tuple[Any, ...], Run]] = []
    for row in _assignments(choices):
        absent = frozenset(lower for lower, value in zip(lowers, row, strict=True) if value is _ABSENT)
        assigned = {key: value for key, value in zip(keys, row, strict=True) if value is not _ABSENT}
        runs.append((row, run(assigned, absent)))
    decisions = {outcome.decided.decision for _, outcome in runs}
    worst = max(decisions, key=_RANK.__getitem__)
    chosen = next(outcome for _, outcome in runs if outcome.decided.decision == worst)
    if len(decisions) == 1:
        return build_result(chosen)
    varying = frozenset(
        kind for kind in LAYER_ORDER if len({outcome.layer(kind).allows for _, outcome in runs}) > 1
    )
    unknowns: list[Unknown] = []
    for position, key in enumerate(keys):
        by_value: dict[Any, set[str]] = {}
        for row, outcome in runs:
            by_value.setdefault(row[position], set()).add(outcome.decided.decision)
        if len({frozenset(found) for found in by_value.values()}) <= 1:
            continue
        allow_if = tuple(
            "*" if v is _OTHER else str(v)
            for v, found in by_value.items()
            if v is not _ABSENT and "allow" in found
        )
        unknowns.append(
            Unknown(key=key, allow_if=allow_if, allow_if_absent="allow" in by_value.get(_ABSENT, set()))
        )
    names = ", ".join(unknown.key for unknown in unknowns) or ", ".join(keys)
    note = f"the decision depends on context the request did not give: {names}"
    result = build_result(chosen, varying, tuple(unknowns), (note,))
    return result.model_copy(update={"decided_by_unknown": True})
