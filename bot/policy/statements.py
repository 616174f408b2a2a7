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

from dataclasses import dataclass
from typing import Literal

from bot.policy.arn import arn_pattern
from bot.policy.conditions import ConditionEntry, compile_conditions
from bot.policy.context import Context
from bot.policy.document import Statement
from bot.policy.patterns import Pattern, action_pattern, parse_template
from bot.policy.principals import (
    Caller,
    MatchClass,
    PrincipalSpec,
    aws_principal,
    best_match,
    service_principal,
)

PolicyKind = Literal["identity", "key_policy", "rcp", "vpc_endpoint"]
Element = Literal["action", "resource", "principal", "condition"]


@dataclass(frozen=True, slots=True)
class Miss:
    element: Element
    operator: str | None = None
    key: str | None = None
    expected: tuple[str, ...] = ()
    actual: tuple[str, ...] | None = None


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
        "action_sources",
        "actions",
        "allow",
        "conditions",
        "context_key_order",
        "context_keys",
        "index",
        "label",
        "not_action",
        "not_principal",
        "not_resource",
        "principal_sources",
        "principals",
        "resource_exact",
        "resource_other",
        "resource_prefixes",
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
        self.action_sources = tuple(pattern.source for pattern in self.actions)
        self.not_resource = statement.not_resource is not None
        patterns = statement.resource if statement.resource is not None else statement.not_resource
        if patterns is None or (not self.not_resource and "*" in patterns):
            self.resources: tuple[Pattern, ...] | None = None  # any resource
        else:
            self.resources = tuple(arn_pattern(text, variables=variables) for text in patterns)
        # The resource test split by cost: a set lookup, one `startswith`, then the other patterns.
        resources = self.resources or ()
        self.resource_exact = frozenset(p.exact_text for p in resources if p.exact_text is not None)
        self.resource_prefixes = tuple(
            p.prefix_text for p in resources if p.exact_text is None and p.prefix_text is not None
        )
        self.resource_other = tuple(p for p in resources if p.exact_text is None and p.prefix_text is None)
        has_principal = statement.principal is not None or statement.not_principal is not None
        if kind == "identity" and has_principal:
            raise ValueError("Principal/NotPrincipal is not allowed in this kind of policy")
        if kind == "key_policy" and not has_principal:
            raise ValueError("a key-policy statement needs a Principal or NotPrincipal")
        self.not_principal = statement.not_principal is not None
        self.principals: tuple[PrincipalSpec, ...] | None = _principals(statement) if has_principal else None
        if self.principals is None and kind in ("rcp", "vpc_endpoint"):
            self.principals = (PrincipalSpec("any", "*"),)
        self.principal_sources = tuple(spec.source for spec in self.principals or ())
        self.conditions: tuple[ConditionEntry, ...] = compile_conditions(statement.condition, variables)
        self.context_keys = _context_keys(statement, variables)
        self.context_key_order = tuple(sorted(self.context_keys))

    def action_matches(self, action: str) -> bool:
        found = any(pattern.matches(action, _no_variables) for pattern in self.actions)
        return found != self.not_action

    def action_miss(self, action: str) -> Miss:
        return Miss("action", expected=self.action_sources, actual=(action,))

    def principal_match(
        self, caller: Caller, has_boundary: bool, by_role: bool = False
    ) -> MatchClass | Miss | None:
        """The class naming the caller (None: the statement has no principal element), or the miss.
        `by_role`: the miss reports a session caller by its role ARN (see `CompiledPolicy.plan`)."""
        if self.principals is None:
            return None
        found = best_match(self.principals, caller)
        if self.not_principal:
            excluded = found is not None and not (not self.allow and has_boundary)
            found = None if excluded else "any"
        if found is None:
            shown = caller.principal_arn if by_role and caller.kind == "session" else caller.arn
            return Miss(
                "principal",
                expected=self.principal_sources,
                actual=(shown or caller.arn,),
            )
        return found

    def _resource_admits(self, resource: str, context: Context) -> bool:
        """Resource (or NotResource) lets the statement apply; only called when it has one."""
        hit = (
            resource in self.resource_exact
            or (bool(self.resource_prefixes) and resource.startswith(self.resource_prefixes))
            or any(pattern.matches(resource, context.single) for pattern in self.resource_other)
        )
        return hit != self.not_resource

    def rest_matches(self, resource: str, context: Context) -> bool:
        """`not rest_misses(resource, context)`, without building the misses (stops at the first)."""
        if self.resources is not None and not self._resource_admits(resource, context):
            return False
        for entry in self.conditions:  # noqa: SIM110 - no generator frame on the hottest path
            if not entry.evaluate(context):
                return False
        return True

    def rest_misses(self, resource: str, context: Context) -> tuple[Miss, ...]:
        """Why the resource or the conditions fail, once action and principal matched (empty: a match).
        The hot path: no objects are built for a statement that matches."""
        resources = self.resources
        if resources is not None and not self._resource_admits(resource, context):
            expected = tuple(p.resolved(context.single) for p in resources)
            return (Miss("resource", expected=expected, actual=(resource,)),)
        if not self.conditions:
            return ()
        failed = [entry for entry in self.conditions if not entry.evaluate(context)]
        if not failed:
            return ()
        values = context.values
        return tuple(
            Miss(
                "condition",
                operator=entry.operator,
                key=entry.key,
                expected=entry.values,
                actual=values.get(entry.key_lower),
            )
            for entry in failed
        )


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
