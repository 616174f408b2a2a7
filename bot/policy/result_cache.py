"""Results already computed, keyed by everything an evaluation depends on.

An evaluation is a pure function of: the caller (with its role path), the action, the resource and the
key's account, the key facts and management account, the compiled policies in their positions, the
grants, the unknown keys, and the request context projected onto what can matter: the keys any of the
policies mentions (conditions and policy variables), every `kms:EncryptionContext:*` pair (grant
constraints, `kms:EncryptionContextKeys`) and `kms:ViaService` (AWS managed keys). Compiled policies and
grants are cached by content, so the same content is the same object; the key holds them, so their ids
cannot be reused while an entry lives. A document with a malformed context value skips the cache, so
that its evaluation reports the error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.policy.context import normalise_value
from bot.policy.simulation import SimulationResult

if TYPE_CHECKING:
    from bot.policy.prepare import Prepared

_RESULTS: dict[tuple[Any, ...], SimulationResult] = {}
_LIMIT = 20_000
_ALWAYS = ("kms:encryptioncontext", "kms:viaservice")


def result_key(prepared: Prepared) -> tuple[Any, ...] | None:
    doc = prepared.doc
    request = doc.request
    referenced: set[str] = set()
    for policy in prepared.policies():
        referenced.update(policy.context_keys)
    projected: list[tuple[str, Any]] = []
    for name, value in request.context.items():
        if value.__class__ is not str and not _plain(value):
            return None  # the evaluation itself reports the bad value
        lower = name.lower()
        if lower in referenced or lower.startswith(_ALWAYS):
            # Normalised, so that True and 1 (equal in Python, "true" and "1" to the engine) differ.
            projected.append((name, normalise_value(name, value)))
    key = (
        prepared.caller,
        request.action,
        request.resource,
        prepared.key_account,
        doc.key.manager,
        doc.key.state,
        doc.management_account,
        tuple(prepared.identity),
        prepared.boundary,
        prepared.session,
        tuple(tuple(level) for level in prepared.scps),
        tuple(tuple(level) for level in prepared.rcps),
        prepared.key_policy,
        prepared.vpc_endpoint,
        tuple(prepared.grants),
        request.unknown_keys,
        tuple(projected),
    )
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, str | bool | int | float):
        return True
    return isinstance(value, list) and all(isinstance(item, str | bool | int | float) for item in value)


def recall(key: tuple[Any, ...] | None) -> SimulationResult | None:
    return None if key is None else _RESULTS.get(key)


def remember(key: tuple[Any, ...] | None, result: SimulationResult) -> SimulationResult:
    if key is not None:
        if len(_RESULTS) >= _LIMIT:
            _RESULTS.clear()
        _RESULTS[key] = result
    return result
