"""Compiled policies: compiled once per content, indexed by action, planned per caller (§2.14-§2.19).

A policy is compiled once per content (cache keyed by its JSON text and kind); its statements are
indexed by action, and for each (action, caller, position) a `Plan` keeps the statements that survive
the action and principal checks (without explanations, callers the policy names alike share a plan).
`CompiledPolicy.outcome` answers a request from the plan. Policies are treated as immutable once
evaluated.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any

from bot.policy import memo
from bot.policy.document import PolicyError, parse_policy, statement_label
from bot.policy.outcomes import Outcome, Request, compute
from bot.policy.principals import Caller
from bot.policy.simulation import MatchedStatement, PolicyType, StatementMiss
from bot.policy.statements import CompiledStatement, Miss, PolicyKind

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - optional speed-up
    _orjson = None  # type: ignore[assignment]


class Plan:
    """One policy at one position for one action and caller (or callers it names alike): what survives
    the action and principal checks (each with the `MatchedStatement` it reports when it matches), the
    misses of the rest, and the outcomes already computed per (resource, context keys)."""

    __slots__ = ("_misses_of", "_static_misses", "by_resource", "candidates", "keys", "outcomes")

    def __init__(
        self,
        candidates: tuple[tuple[CompiledStatement, MatchedStatement], ...],
        misses_of: Callable[[], tuple[StatementMiss, ...]],
    ) -> None:
        self.candidates = candidates
        # Built on first use: only explaining evaluations read them, and plans are made per caller.
        self._misses_of: Callable[[], tuple[StatementMiss, ...]] | None = misses_of
        self._static_misses: tuple[StatementMiss, ...] = ()
        # What the outcome depends on: the context keys the candidates mention (conditions and policy
        # variables) and the resource if some candidate has a Resource/NotResource element.
        self.keys = tuple(sorted(frozenset().union(*(s.context_keys for s, _ in candidates))))
        self.by_resource = any(s.resources is not None for s, _ in candidates)
        self.outcomes: dict[Any, Outcome] = {}

    @property
    def static_misses(self) -> tuple[StatementMiss, ...]:
        """The action and principal misses of the statements that are not candidates."""
        if self._misses_of is not None:
            self._static_misses = self._misses_of()
            self._misses_of = None
        return self._static_misses


class CompiledPolicy:
    """A policy ready to evaluate; `for_action` is the action index (cached per action)."""

    __slots__ = (
        "_action_misses",
        "_by_action",
        "_class_ids",
        "_classes",
        "_condition_values",
        "_plans",
        "caller_independent",
        "context_keys",
        "names_sessions",
        "statements",
        "variables",
    )

    def __init__(self, statements: tuple[CompiledStatement, ...], variables: bool) -> None:
        self.statements = statements
        self.variables = variables
        # No statement names anybody (identity-type policies, `Principal: "*"`): plans are shared by callers.
        self.caller_independent = all(
            s.principals is None or (not s.not_principal and all(p.kind == "any" for p in s.principals))
            for s in statements
        )
        # Unless a statement names a role session, all sessions of a role match alike: they share plans,
        # and a principal miss reports such a caller by its role ARN.
        self.names_sessions = any(spec.kind == "session" for s in statements for spec in (s.principals or ()))
        self.context_keys = tuple(sorted(frozenset().union(*(s.context_keys for s in statements))))
        self._by_action: dict[str, tuple[tuple[CompiledStatement, ...], tuple[CompiledStatement, ...]]] = {}
        self._plans: dict[tuple[Any, ...], Plan] = {}
        self._classes: dict[tuple[Any, ...], int] = {}
        self._class_ids: dict[tuple[str | None, ...], int] = {}
        self._condition_values: dict[str, list[str]] = {}
        # (action, kind, index, level) → the action misses, by statement index (they ignore the caller).
        self._action_misses: dict[tuple[Any, ...], dict[int, StatementMiss]] = {}

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

    def outcome(self, kind: PolicyType, index: int, level: int | None, request: Request) -> Outcome:
        """This policy at position `index` (`level`) for `request`. Two cached steps: the plan (the
        statements left after the action and principal checks) per action, caller and position; the
        outcome per plan and distinct resource and values of the context keys its candidates mention."""
        explain = request.explain
        if self.caller_independent:
            key: Any = (request.action, kind, index, level)
        elif explain:
            # The principal misses name the caller: a plan of its own.
            caller = request.caller
            who = caller.arn if caller.kind != "session" or self.names_sessions else caller.principal_arn
            key = (request.action, caller.kind, who, request.has_boundary, kind, index, level)
        else:
            # Without misses a plan depends on the caller only through which statements name it and
            # how: callers named alike (every unnamed role of an account, say) share plans and outcomes.
            named = self._principal_classes(request.caller, request.has_boundary)
            key = (request.action, named, kind, index, level)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan(request.action, request.caller, request.has_boundary, kind, index, level)
            if len(self._plans) >= 8192:
                self._plans.clear()
            self._plans[key] = plan
        if plan.keys:
            values = request.context.values
            resource = request.resource if plan.by_resource else None
            key = (explain, resource, *map(values.get, plan.keys))
        elif plan.by_resource:
            key = (explain, request.resource)
        else:
            key = explain  # nothing the candidates check varies between requests
        found = plan.outcomes.get(key)
        if found is None:
            found = compute(plan, kind, index, level, request)
            if len(plan.outcomes) >= 256:
                plan.outcomes.clear()
            plan.outcomes[key] = found
        return found

    def _principal_classes(self, caller: Caller, has_boundary: bool) -> int:
        """A number standing for how the statements name the caller (per statement: the class naming it,
        None without a principal element, "" for a miss); callers named alike get the same number."""
        who = caller.arn if caller.kind != "session" or self.names_sessions else caller.principal_arn
        key = (caller.kind, who, has_boundary)
        found = self._classes.get(key)
        if found is None:
            classes = tuple(_principal_class(s, caller, has_boundary) for s in self.statements)
            found = self._class_ids.get(classes)
            if found is None:
                if len(self._class_ids) >= 4096:
                    self._class_ids.clear()
                # From a counter, never the table's size: a number is never given to two namings, so
                # a plan cached under one cannot be found for another after the table is cleared.
                found = self._class_ids[classes] = next(_NAMINGS)
            if len(self._classes) >= 4096:
                self._classes.clear()
            self._classes[key] = found
        return found

    def _plan(
        self, action: str, caller: Caller, has_boundary: bool, kind: PolicyType, index: int, level: int | None
    ) -> Plan:
        by_role = not self.names_sessions
        candidates: list[tuple[CompiledStatement, MatchedStatement]] = []
        principal_misses: dict[int, Miss] = {}
        for statement in self.for_action(action)[0]:
            principal = statement.principal_match(caller, has_boundary, by_role)
            if isinstance(principal, Miss):
                principal_misses[statement.index] = principal
                continue
            shown = principal if kind == "key_policy" else None
            hit = memo.matched(kind, statement.allow, index, statement.label, level, shown)
            candidates.append((statement, hit))
        misses_of = functools.partial(self._static_misses, action, kind, index, level, principal_misses)
        return Plan(tuple(candidates), misses_of)

    def _static_misses(
        self, action: str, kind: PolicyType, index: int, level: int | None, principal_misses: dict[int, Miss]
    ) -> tuple[StatementMiss, ...]:
        """In statement order: each statement's action miss, else its principal miss."""
        misses: list[StatementMiss] = []
        action_misses = self._action_misses_at(action, kind, index, level)
        for statement in self.statements:
            action_miss = action_misses.get(statement.index)
            if action_miss is not None:
                misses.append(action_miss)
                continue
            principal = principal_misses.get(statement.index)
            if principal is not None:
                label, allow = statement.label, statement.allow
                misses.append(memo.statement_miss(kind, index, label, allow, level, principal))
        return tuple(misses)

    def _action_misses_at(
        self, action: str, kind: PolicyType, index: int, level: int | None
    ) -> dict[int, StatementMiss]:
        key = (action, kind, index, level)
        found = self._action_misses.get(key)
        if found is None:
            found = {
                statement.index: memo.statement_miss(
                    kind, index, statement.label, statement.allow, level, statement.action_miss(action)
                )
                for statement in self.for_action(action)[1]
            }
            if len(self._action_misses) >= 1024:
                self._action_misses.clear()
            self._action_misses[key] = found
        return found

    def condition_values(self, key_lower: str) -> list[str]:
        """Every value a condition on `key_lower` compares with (Null aside); cached per key."""
        found = self._condition_values.get(key_lower)
        if found is None:
            found = [
                value
                for statement in self.statements
                for entry in statement.conditions
                if entry.key_lower == key_lower and entry.family != "null"
                for value in entry.values
            ]
            if len(self._condition_values) < 256:
                self._condition_values[key_lower] = found
        return list(found)


_NAMINGS = itertools.count()


def _principal_class(statement: CompiledStatement, caller: Caller, has_boundary: bool) -> str | None:
    found = statement.principal_match(caller, has_boundary)
    return "" if isinstance(found, Miss) else found


_CACHE: dict[tuple[str, bytes | str], CompiledPolicy] = {}
# id of the policy's Statement list → (that list, the Version, the kind, its compiled policy); see
# compile_policy.
_BY_OBJECT: dict[int, tuple[Any, Any, str, CompiledPolicy]] = {}
_CACHE_LIMIT = 4096
_TOP_LEVEL = frozenset(("Version", "Id", "Statement"))


def policy_name(where: tuple[Any, ...]) -> str:
    """("scps", 0, 1) → "scps[0][1]"; ("key_policy",) → "key_policy"."""
    return str(where[0]) + "".join(f"[{part}]" for part in where[1:])


def compile_policy(raw: Any, where: tuple[Any, ...], kind: PolicyKind) -> CompiledPolicy:
    """Compile (or fetch from a cache) one policy; `where` names it in errors (`policy_name`).

    Two caches. By identity: a policy whose `Statement` list is the very list object compiled before
    (the same policy dict again, or a copy of its top level, which is what validating a
    `SimulationDocument` makes: pydantic copies the policy dict but not the lists inside it). The entry
    holds the list, so its id cannot be reused while the entry lives. Otherwise by content (its JSON
    text), which costs a serialisation. Policies must therefore not be mutated once evaluated: build a
    new policy (new Statement list) for a patched policy rather than editing one in place.
    """
    found = recall(raw, kind)
    if found is not None:
        return found
    statements_raw = raw.get("Statement") if raw.__class__ is dict else None
    content = content_key(raw)
    if content is None:
        # Nested too deeply to serialise: compile without caching; parsing reports what is wrong.
        return _compile_guarded(raw, where, kind)
    cache_key = (kind, content)
    compiled = _CACHE.get(cache_key)
    if compiled is None:
        compiled = _compile_guarded(raw, where, kind)
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[cache_key] = compiled
    if statements_raw.__class__ is list:
        if len(_BY_OBJECT) >= 2048:
            _BY_OBJECT.clear()
        _BY_OBJECT[id(statements_raw)] = (statements_raw, raw.get("Version"), kind, compiled)
    return compiled


def recall(raw: Any, kind: PolicyKind) -> CompiledPolicy | None:
    """The compiled policy when `raw`'s Statement list is the very list compiled before (see
    `compile_policy`), else None."""
    if raw.__class__ is not dict:
        return None
    statements = raw.get("Statement")
    seen = _BY_OBJECT.get(id(statements))
    # The identity says nothing about the other top-level fields: unknown ones must still fail.
    if (
        seen is None
        or seen[0] is not statements
        or seen[2] != kind
        or seen[1] != raw.get("Version")
        or not _TOP_LEVEL.issuperset(raw)
    ):
        return None
    return seen[3]


def _compile_guarded(raw: Any, where: tuple[Any, ...], kind: PolicyKind) -> CompiledPolicy:
    name = policy_name(where)
    try:
        return _compile(raw, name, kind)
    except RecursionError:
        raise PolicyError(f"{name}: nested too deeply") from None


def _compile(raw: Any, name: str, kind: PolicyKind) -> CompiledPolicy:
    document = parse_policy(raw, name)
    statements: list[CompiledStatement] = []
    raw_statements = raw.get("Statement", [])
    raw_list = raw_statements if isinstance(raw_statements, list) else [raw_statements]
    for index, statement in enumerate(document.statements):
        try:
            statements.append(CompiledStatement(statement, index, kind, document.variables))
        except ValueError as error:
            raise PolicyError(f"{name} {statement_label(index, raw_list[index])}: {error}") from None
    return CompiledPolicy(tuple(statements), document.variables)


def content_key(raw: Any) -> bytes | str | None:
    """The policy's content as a cache key (orjson is ~10x faster than repr when it is installed);
    None when it is nested too deeply to serialise (JSON allows more depth than Python's recursion)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(raw)
        except TypeError:
            pass
    try:
        return repr(raw)
    except RecursionError:
        return None
