"""The request context: case-insensitive keys, string values, plus what the principal and resource imply.

Values are tuples of strings (JSON booleans become `true`/`false`, numbers their decimal text); a list
value is a multi-valued key. `None` or a key that is not given is absent. The engine adds, unless the
document gives them (or lists them as unknown):
- `aws:PrincipalArn` (the role ARN for a session), `aws:PrincipalAccount`, `kms:CallerAccount`
  (interfaces.md), `aws:ResourceAccount` (the key ARN's account);
- `aws:username` for IAM users, `aws:PrincipalType` (`User`, `AssumedRole`, `FederatedUser`, `Account`,
  `Anonymous`), `aws:PrincipalIsAWSService` (`true` for service principals, else `false`) and
  `aws:PrincipalServiceName` for service principals: AWS always sets these (§2.7);
- `kms:EncryptionContextKeys` from the `kms:EncryptionContext:<k>` pairs, when there are any (§2.12).
`kms:EncryptionContext:<k>` keys keep their original spelling too, for grant constraints, which compare
context keys case-sensitively.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.policy.document import PolicyError, _scalar
from bot.policy.principals import Caller

EC_PREFIX = "kms:encryptioncontext:"
_PRINCIPAL_TYPES = {
    "user": "User",
    "role": "AssumedRole",
    "session": "AssumedRole",
    "fedsession": "FederatedUser",
    "root": "Account",
    "anonymous": "Anonymous",
}
Values = tuple[str, ...]


@dataclass(slots=True)
class Context:
    values: dict[str, Values] = field(default_factory=dict)
    encryption_context: dict[str, str] = field(default_factory=dict)

    def get(self, key_lower: str) -> Values | None:
        return self.values.get(key_lower)

    def single(self, key_lower: str) -> str | None:
        """A policy variable's value: only single-valued keys resolve."""
        found = self.values.get(key_lower)
        return found[0] if found is not None and len(found) == 1 else None


def normalise_value(key: str, value: Any) -> Values | None:
    if value.__class__ is str:
        return (value,)
    if value is None:
        return None
    try:
        if isinstance(value, list):
            return tuple(_scalar(item, f"request.context[{key!r}]") for item in value)
        return (_scalar(value, f"request.context[{key!r}]"),)
    except ValueError as error:
        raise PolicyError(str(error)) from None


def implied_values(caller: Caller, resource_account: str | None) -> dict[str, Values]:
    """What the caller and the key imply (cached: callers repeat; never mutated)."""
    # Not the Caller itself: a dataclass hashes every field on every call. Its ARN fixes all that is
    # implied but the principal ARN (a session's role path).
    key = (caller.arn, caller.principal_arn, resource_account)
    found = _IMPLIED.get(key)
    if found is None:
        implied: dict[str, str | None] = {
            "aws:principalarn": caller.principal_arn,
            "aws:principalaccount": caller.account,
            "kms:calleraccount": caller.account,
            "aws:resourceaccount": resource_account,
            "aws:principalisawsservice": "true" if caller.kind == "service" else "false",
            "aws:principaltype": _PRINCIPAL_TYPES.get(caller.kind),
        }
        if caller.kind == "user":
            implied["aws:username"] = caller.name
        if caller.kind == "service":
            implied["aws:principalservicename"] = caller.arn
        found = {name: (value,) for name, value in implied.items() if value is not None}
        if len(_IMPLIED) >= 4096:
            _IMPLIED.clear()
        _IMPLIED[key] = found
    return found


_IMPLIED: dict[tuple[str, str | None, str | None], dict[str, Values]] = {}
_KEYS_KEY = "kms:encryptioncontextkeys"
_BOOLEANS: dict[bool, Values] = {True: ("true",), False: ("false",)}


def read_context(given: Mapping[str, Any], unknown: frozenset[str]) -> Context:
    """The given context with lower-cased names and normalised values, without what is implied."""
    values: dict[str, Values] = {}
    encryption_context: dict[str, str] = {}
    for key, value in given.items():
        if value.__class__ is str:
            found: Values | None = (value,)
        elif value is True or value is False:
            found = _BOOLEANS[value]
        else:
            found = normalise_value(key, value)
        lower = key.lower()
        if found is None or (unknown and lower in unknown):
            continue
        values[lower] = found
        if lower.startswith(EC_PREFIX) and len(found) == 1:
            encryption_context[key[len(EC_PREFIX) :]] = found[0]
    return Context(values, encryption_context)


def with_values(context: Context, given: Mapping[str, Any]) -> Context:
    """A copy of `context` with `given` added (read as `read_context` reads them)."""
    added = read_context(given, frozenset())
    return Context(
        {**context.values, **added.values},
        {**context.encryption_context, **added.encryption_context},
    )


def complete_context(
    context: Context, caller: Caller, resource_account: str | None, unknown: frozenset[str]
) -> Context:
    """`context` with what the caller and the key imply, unless given or unknown."""
    implied = implied_values(caller, resource_account)
    if unknown:
        implied = {key: value for key, value in implied.items() if key not in unknown}
    values = implied | context.values  # what is given wins
    if context.encryption_context and _KEYS_KEY not in values and _KEYS_KEY not in unknown:
        values[_KEYS_KEY] = tuple(context.encryption_context)
    return Context(values, context.encryption_context)


def build_context(
    given: Mapping[str, Any], caller: Caller, resource_account: str | None, unknown: frozenset[str]
) -> Context:
    return complete_context(read_context(given, unknown), caller, resource_account, unknown)
