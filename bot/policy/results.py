"""Building the `SimulationResult` from one evaluation run (field meanings: `SimulationResult`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.policy import memo
from bot.policy.combine import DENY_ORDER, Check, Verdict
from bot.policy.layers import Layer
from bot.policy.simulation import LayerResult, PolicyType, SimulationResult, Unknown

LAYER_ORDER: tuple[PolicyType, ...] = (
    "identity",
    "key_policy",
    "grants",
    "scp",
    "rcp",
    "permissions_boundary",
    "session",
    "vpc_endpoint",
)


@dataclass(slots=True)
class Run:
    layers: dict[PolicyType, Layer]
    verdict: Verdict


_NOT_APPLYING = {kind: LayerResult(layer=kind, applies=False, allows=None) for kind in LAYER_ORDER}


def _layer_result(kind: PolicyType, layer: Layer, varying: set[PolicyType]) -> LayerResult:
    if not layer.applies:
        return _NOT_APPLYING[kind]
    allows = None if kind in varying else layer.allows
    return memo.layer_result(kind, allows, layer.explicit_deny, (*layer.deny_hits, *layer.allow_hits))


def build_result(
    run: Run, varying: set[PolicyType], unknowns: tuple[Unknown, ...], notes: list[str]
) -> SimulationResult:
    layers, verdict = run.layers, run.verdict
    if verdict.decision == "explicit_deny":
        decided = [hit for kind in DENY_ORDER if layers[kind].applies for hit in layers[kind].deny_hits]
    else:
        decided = [hit for kind in LAYER_ORDER if layers[kind].applies for hit in layers[kind].allow_hits]
    # Plain construction: pydantic-core validates these already-built parts faster than the
    # pure-Python `model_construct` skips validation (measured: ~4 µs against ~8 µs).
    return SimulationResult(
        decision=verdict.decision,
        failing_checks=tuple(memo.failing_check(astuple_check(check)) for check in verdict.checks),
        matched=tuple(decided),
        layers=tuple(_layer_result(kind, layers[kind], varying) for kind in LAYER_ORDER),
        misses=tuple(miss for kind in LAYER_ORDER if layers[kind].applies for miss in layers[kind].misses),
        unknowns=unknowns,
        decided_by_unknown=bool(unknowns),
        notes=tuple(dict.fromkeys([*verdict.notes, *notes])),
    )


def astuple_check(check: Check) -> tuple[Any, ...]:
    return (
        check.policy_type,
        check.kind,
        check.statement,
        check.policy_index,
        check.level,
        check.explain,
        check.reason,
    )
