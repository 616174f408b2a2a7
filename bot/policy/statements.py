"""Compiled policies and the match of one statement (kms-evaluation.md §2.14-§2.19).

A policy is compiled once per content (cache keyed by its JSON text and kind); its statements are
indexed by action, so a request only looks at statements whose Action/NotAction admits it. A statement
matches when action, resource, principal and every condition match. A miss records the first element
that failed (action, resource, principal), or every failing condition entry.

Policy kinds: `identity` (identity, boundary, session policies and SCPs: no Principal allowed),
`key_policy` (Principal or NotPrincipal required), `rcp` and `vpc_endpoint` (a missing Principal reads
as `*`). NotPrincipal matches a caller that none of its principals names, with the same rules as
Principal (a role ARN names its sessions, an account names everyone in it); a `Deny` with NotPrincipal
in a key policy matches every principal that has a permissions boundary, whatever it lists (§2.16).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bot.policy import memo
from bot.policy.arn import arn_pattern
from bot.policy.conditions import ConditionEntry, compile_conditions
from bot.policy.context import Context
from bot.policy.document import PolicyError, Statement, parse_policy, statement_label
from bot.policy.patterns import Pattern, action_pattern, parse_template
from bot.policy.principals import (
    Caller,
    MatchClass,
    PrincipalSpec,
    aws_principal,
    best_match,
    service_principal,
)
from bot.policy.simulation import PolicyType, StatementMiss

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - optional speed-up
    _orjson = None  # type: ignore[assignment]

PolicyKind = Literal["identity", "key_policy", "rcp", "vpc_endpoint"]
Element = Literal["action", "resource", "principal", "condition"]


@dataclass(frozen=True, slots=True)
class Miss:
    element: Element
    operator: str | None = None
    key: str | None = None
    expected: tuple[str, ...] = ()
    actual: tuple[str, ...] | None = None


@dataclass(slots=True)
class Outcome:
    matched: bool
    principal_match: MatchClass | None = None
    misses: list[Miss] = field(default_factory=list)


def _principals(statement: Statement) -> tuple[PrincipalSpec, ...]:
    element = statement.principal or statement.not_principal
    if element is None:
        return ()
    specs: list[PrincipalSpec] = []
    if element.any:
        specs.append(PrincipalSpec("any", "*"))
    specs.extend(aws_principal(value) for value in element.aws)
    specs.extend(service_principal(value) for value in element.service)
    # Federated (web identity, SAML) and CanonicalUser principals never make a KMS request.
    specs.extend(PrincipalSpec("nobody", value) for value in element.federated + element.canonical_user)
    return tuple(specs)


class CompiledStatement:
    __slots__ = (
        "actions",
        "allow",
        "conditions",
        "context_keys",
        "index",
        "label",
        "not_action",
        "not_principal",
        "not_resource",
        "principals",
        "resources",
    )

    def __init__(self, statement: Statement, index: int, kind: PolicyKind, variables: bool) -> None:
        self.index = index
        self.label = statement.sid or str(index)
        self.allow = statement.effect == "Allow"
        self.not_action = statement.not_action is not None
        self.actions = tuple(
            action_pattern(text) for text in (statement.action or statement.not_action or ())
        )
        self.not_resource = statement.not_resource is not None
        patterns = statement.resource if statement.resource is not None else statement.not_resource
        if patterns is None or (not self.not_resource and "*" in patterns):
            self.resources: tuple[Pattern, ...] | None = None  # any resource
        else:
            self.resources = tuple(arn_pattern(text, variables=variables) for text in patterns)
        has_principal = statement.principal is not None or statement.not_principal is not None
        if kind == "identity" and has_principal:
            raise ValueError("Principal/NotPrincipal is not allowed in this kind of policy")
        if kind == "key_policy" and not has_principal:
            raise ValueError("a key-policy statement needs a Principal or NotPrincipal")
        self.not_principal = statement.not_principal is not None
        self.principals: tuple[PrincipalSpec, ...] | None = _principals(statement) if has_principal else None
        if self.principals is None and kind in ("rcp", "vpc_endpoint"):
            self.principals = (PrincipalSpec("any", "*"),)
        self.conditions: tuple[ConditionEntry, ...] = compile_conditions(statement.condition, variables)
        self.context_keys = _context_keys(statement, variables)

    def action_matches(self, action: str) -> bool:
        found = any(pattern.matches(action, _no_variables) for pattern in self.actions)
        return found != self.not_action

    def action_miss(self, action: str) -> Miss:
        return Miss("action", expected=tuple(p.source for p in self.actions), actual=(action,))

    def principal_match(self, caller: Caller, has_boundary: bool) -> MatchClass | Miss | None:
        """The class naming the caller (None: the statement has no principal element), or the miss."""
        if self.principals is None:
            return None
        found = best_match(self.principals, caller)
        if self.not_principal:
            excluded = found is not None and not (not self.allow and has_boundary)
            found = None if excluded else "any"
        if found is None:
            return Miss(
                "principal", expected=tuple(spec.source for spec in self.principals), actual=(caller.arn,)
            )
        return found

    def evaluate(self, resource: str, caller: Caller, context: Context, has_boundary: bool) -> Outcome:
        """Full match (the hot path is `CompiledPolicy.plan`, then `evaluate_rest`)."""
        principal = self.principal_match(caller, has_boundary)
        if isinstance(principal, Miss):
            return Outcome(False, misses=[principal])
        return self.evaluate_rest(resource, context, principal)

    def evaluate_rest(self, resource: str, context: Context, principal: MatchClass | None) -> Outcome:
        """Resource and conditions, once action and principal matched."""
        if self.resources is not None:
            hit = any(pattern.matches(resource, context.single) for pattern in self.resources)
            if hit == self.not_resource:
                expected = tuple(p.resolved(context.single) for p in self.resources)
                return Outcome(False, misses=[Miss("resource", expected=expected, actual=(resource,))])
        misses = [
            Miss(
                "condition",
                operator=entry.operator,
                key=entry.key,
                expected=entry.values,
                actual=context.values.get(entry.key_lower),
            )
            for entry in self.conditions
            if not entry.evaluate(context)
        ]
        return Outcome(not misses, principal, misses)


def _no_variables(_key: str) -> str | None:
    return None


def _context_keys(statement: Statement, variables: bool) -> frozenset[str]:
    """Every context key the statement's outcome can depend on: condition keys and policy variables."""
    keys = {key.lower() for entries in statement.condition.values() for key in entries}
    if variables:
        texts = [v for entries in statement.condition.values() for values in entries.values() for v in values]
        texts += list(statement.resource or statement.not_resource or ())
        for text in texts:
            if "${" in text:
                keys.update(part[1] for part in parse_template(text, variables=True) if part[0] == "var")
    return frozenset(keys)


class Plan:
    """One policy at one position for one (action, caller): what survives the action and principal
    checks, the misses of the rest, and the outcomes already computed per (resource, context keys)."""

    __slots__ = ("candidates", "outcomes", "static_misses")

    def __init__(
        self,
        candidates: tuple[tuple[CompiledStatement, MatchClass | None], ...],
        static_misses: tuple[StatementMiss, ...],
    ) -> None:
        self.candidates = candidates
        self.static_misses = static_misses
        self.outcomes: dict[tuple[Any, ...], Any] = {}


class CompiledPolicy:
    """A policy ready to evaluate; `for_action` is the action index (cached per action)."""

    __slots__ = ("_by_action", "_plans", "context_keys", "statements", "variables")

    def __init__(self, statements: tuple[CompiledStatement, ...], variables: bool) -> None:
        self.statements = statements
        self.variables = variables
        self.context_keys = tuple(sorted(frozenset().union(*(s.context_keys for s in statements))))
        self._by_action: dict[str, tuple[tuple[CompiledStatement, ...], tuple[CompiledStatement, ...]]] = {}
        self._plans: dict[tuple[Any, ...], Plan] = {}

    def for_action(self, action: str) -> tuple[tuple[CompiledStatement, ...], tuple[CompiledStatement, ...]]:
        """(statements whose action element admits `action`, statements that miss on the action)."""
        key = action.lower()
        found = self._by_action.get(key)
        if found is None:
            hits = tuple(s for s in self.statements if s.action_matches(key))
            found = (hits, tuple(s for s in self.statements if s not in hits))
            if len(self._by_action) < 512:
                self._by_action[key] = found
        return found

    def plan(
        self, action: str, caller: Caller, has_boundary: bool, kind: PolicyType, index: int, level: int | None
    ) -> Plan:
        """Statements left after the action and principal checks (with their principal class), and the
        `StatementMiss`es of those that failed them. Cached: both depend only on these arguments."""
        key = (action, caller.arn, has_boundary, kind, index, level)
        found = self._plans.get(key)
        if found is None:
            candidates: list[tuple[CompiledStatement, MatchClass | None]] = []
            misses: list[StatementMiss] = []
            hits = self.for_action(action)[0]
            for statement in self.statements:
                if statement not in hits:
                    miss = statement.action_miss(action)
                else:
                    principal = statement.principal_match(caller, has_boundary)
                    if not isinstance(principal, Miss):
                        candidates.append((statement, principal))
                        continue
                    miss = principal
                misses.append(memo.statement_miss(kind, index, statement.label, statement.allow, level, miss))
            found = Plan(tuple(candidates), tuple(misses))
            if len(self._plans) >= 2048:
                self._plans.clear()
            self._plans[key] = found
        return found

    def condition_values(self, key_lower: str) -> list[str]:
        return [
            value
            for statement in self.statements
            for entry in statement.conditions
            if entry.key_lower == key_lower and entry.family != "null"
            for value in entry.values
        ]


_CACHE: dict[tuple[str, bytes | str], CompiledPolicy] = {}
_BY_OBJECT: dict[tuple[int, str], tuple[Any, CompiledPolicy]] = {}
_CACHE_LIMIT = 4096


def compile_policy(raw: Any, name: str, kind: PolicyKind) -> CompiledPolicy:
    """Compile (or fetch from the content cache) one policy; `name` labels errors, e.g. `scps[0][1]`.

    Two caches: by object (the same dict evaluated again, e.g. the same document in three-valued mode;
    the entry holds the dict, so its id cannot be reused) and by content (its repr). Policies are treated
    as immutable once evaluated: build a new dict for a patched policy rather than editing one in place.
    """
    object_key = (id(raw), kind)
    seen = _BY_OBJECT.get(object_key)
    if seen is not None and seen[0] is raw:
        return seen[1]
    cache_key = (kind, _content_key(raw))
    cached = _CACHE.get(cache_key)
    if cached is not None:
        _remember_object(object_key, raw, cached)
        return cached
    document = parse_policy(raw, name)
    statements: list[CompiledStatement] = []
    raw_statements = raw.get("Statement", [])
    raw_list = raw_statements if isinstance(raw_statements, list) else [raw_statements]
    for index, statement in enumerate(document.statements):
        try:
            statements.append(CompiledStatement(statement, index, kind, document.variables))
        except ValueError as error:
            raise PolicyError(f"{name} {statement_label(index, raw_list[index])}: {error}") from None
    compiled = CompiledPolicy(tuple(statements), document.variables)
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[cache_key] = compiled
    _remember_object(object_key, raw, compiled)
    return compiled


def _content_key(raw: Any) -> bytes | str:
    """The policy's content as a cache key; orjson is ~10x faster than repr when it is installed."""
    if _orjson is not None:
        try:
            return _orjson.dumps(raw)
        except TypeError:
            pass
    return repr(raw)


def _remember_object(key: tuple[int, str], raw: Any, compiled: CompiledPolicy) -> None:
    if len(_BY_OBJECT) >= 512:
        _BY_OBJECT.clear()
    _BY_OBJECT[key] = (raw, compiled)
