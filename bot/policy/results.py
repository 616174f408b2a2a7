"""Building the `SimulationResult` from one evaluation run (field meanings: `SimulationResult`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.policy import memo
from bot.policy.combine import DENY_ORDER, Verdict
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
_POSITION = {kind: position for position, kind in enumerate(LAYER_ORDER)}


class Decided:
    """A verdict in result form. Shared: verdicts are cached by what they read of the layers."""

    __slots__ = ("decision", "failing_checks", "notes")

    def __init__(self, verdict: Verdict) -> None:
        self.decision = verdict.decision
        self.failing_checks = tuple(memo.failing_check(check) for check in verdict.checks)
        self.notes = tuple(dict.fromkeys(verdict.notes))


@dataclass(slots=True)
class Run:
    """One evaluation: the eight layers in `LAYER_ORDER`, and the verdict on them."""

    layers: tuple[Layer, ...]
    decided: Decided

    def layer(self, kind: PolicyType) -> Layer:
        return self.layers[_POSITION[kind]]


def _layer_result(layer: Layer, varying: frozenset[PolicyType]) -> LayerResult:
    if layer.layer not in varying:
        return layer.result
    return memo.layer_result(layer.layer, None, layer.explicit_deny, (*layer.deny_hits, *layer.allow_hits))


def _matched(layers: tuple[Layer, ...], decided: Decided) -> tuple[Any, ...]:
    """For an explicit deny the matching Deny statements (in `DENY_ORDER`), else every matching Allow."""
    if decided.decision == "explicit_deny":
        matched: list[Any] = []
        for kind in DENY_ORDER:
            layer = layers[_POSITION[kind]]
            if layer.applies and layer.deny_hits:
                matched.extend(layer.deny_hits)
        return tuple(matched)
    return tuple(hit for layer in layers if layer.applies for hit in layer.allow_hits)


def build_result(
    run: Run,
    varying: frozenset[PolicyType] = frozenset(),
    unknowns: tuple[Unknown, ...] = (),
    notes: tuple[str, ...] = (),
) -> SimulationResult:
    """The result of a run. Three-valued runs (`bot.policy.unknowns`) pass the layers whose answer
    varied (their `allows` is None), the unknown keys that matter, and a note."""
    layers, decided = run.layers, run.decided
    return SimulationResult(
        decision=decided.decision,
        failing_checks=decided.failing_checks,
        matched=_matched(layers, decided),
        layers=tuple(_layer_result(layer, varying) for layer in layers),
        misses=tuple(miss for layer in layers if layer.misses for miss in layer.misses),
        unknowns=unknowns,
        decided_by_unknown=bool(unknowns),
        notes=tuple(dict.fromkeys([*decided.notes, *notes])) if notes else decided.notes,
    )
