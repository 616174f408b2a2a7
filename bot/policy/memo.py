"""Shared result objects: the frozen models that repeat across evaluations are built once.

A miss or a matched statement is fully determined by its fields, so the engine reuses one instance per
distinct value instead of validating a new pydantic model on every evaluation (most of the engine's
time otherwise). The table is bounded and cleared as a whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.policy.simulation import FailingCheck, LayerResult, MatchedStatement, PolicyType, StatementMiss

if TYPE_CHECKING:
    from bot.policy.statements import Miss

_TABLE: dict[tuple[Any, ...], Any] = {}
_LIMIT = 100_000


def _remember(key: tuple[Any, ...], value: Any) -> Any:
    if len(_TABLE) >= _LIMIT:
        _TABLE.clear()
    _TABLE[key] = value
    return value


def matched(
    policy_type: PolicyType,
    allow: bool,
    index: int,
    label: str,
    level: int | None,
    principal_match: str | None,
) -> MatchedStatement:
    key = ("matched", policy_type, allow, index, label, level, principal_match)
    found = _TABLE.get(key)
    if found is None:
        found = _remember(
            key,
            MatchedStatement(
                policy_type=policy_type,
                effect="Allow" if allow else "Deny",
                policy_index=index,
                statement=label,
                level=level,
                principal_match=principal_match,
            ),
        )
    return found  # type: ignore[no-any-return]


def statement_miss(
    policy_type: PolicyType, index: int, label: str, allow: bool, level: int | None, miss: Miss
) -> StatementMiss:
    # Flat key of plain values: no dataclass __hash__/__eq__ calls, and the garbage collector can stop
    # tracking it (a key holding the `Miss` would keep one more tracked object alive per entry).
    key = (
        "miss",
        policy_type,
        index,
        label,
        allow,
        level,
        miss.element,
        miss.operator,
        miss.key,
        miss.expected,
        miss.actual,
    )
    found = _TABLE.get(key)
    if found is None:
        found = _remember(
            key,
            StatementMiss(
                policy_type=policy_type,
                policy_index=index,
                statement=label,
                effect="Allow" if allow else "Deny",
                element=miss.element,
                operator=miss.operator,
                key=miss.key,
                expected=miss.expected,
                actual=miss.actual,
                level=level,
            ),
        )
    return found  # type: ignore[no-any-return]


def failing_check(fields: tuple[Any, ...]) -> FailingCheck:
    """`fields`: (policy_type, kind, statement, policy_index, level, explain, reason)."""
    key = ("check", *fields)
    found = _TABLE.get(key)
    if found is None:
        policy_type, kind, statement, index, level, explain, reason = fields
        found = _remember(
            key,
            FailingCheck(
                policy_type=policy_type,
                kind=kind,
                statement=statement,
                policy_index=index,
                level=level,
                explain=explain,
                reason=reason,
            ),
        )
    return found  # type: ignore[no-any-return]


_LAYERS: dict[tuple[Any, ...], tuple[tuple[MatchedStatement, ...], LayerResult]] = {}


def layer_result(
    kind: PolicyType, allows: bool | None, explicit_deny: bool, matched: tuple[MatchedStatement, ...]
) -> LayerResult:
    """An applying layer's result. Keyed by the identities of its (shared) matched statements; the entry
    keeps them alive, and a hit is confirmed object by object, so a reused id can never mislead."""
    key = (kind, allows, explicit_deny, *map(id, matched))
    entry = _LAYERS.get(key)
    if entry is not None and all(a is b for a, b in zip(entry[0], matched, strict=True)):
        return entry[1]
    result = LayerResult(
        layer=kind, applies=True, allows=allows, explicit_deny=explicit_deny, matched=matched
    )
    if len(_LAYERS) >= _LIMIT:
        _LAYERS.clear()
    _LAYERS[key] = (matched, result)
    return result
