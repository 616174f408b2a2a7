"""KMS grants in the shape `ListGrants` returns (kms-evaluation.md §1.3, §2.22).

A grant allows (grants never deny) when:
- its `GranteePrincipal` names the caller: a user, a role (and that role's sessions), a session, a
  service principal, or an account (`…:root` or the bare id: every principal of that account, whose IAM
  policies must then allow, like a key-policy delegation; unverified);
- the action's operation (`kms:Decrypt` → `Decrypt`) is in `Operations`;
- its constraints hold: `EncryptionContextEquals` is an exact match of the request's encryption context,
  `EncryptionContextSubset` a subset of it. Grant constraints compare context keys and values
  case-sensitively (unlike `kms:EncryptionContext:<k>` condition keys).
A malformed grant (not an object, no grantee, `Operations` not a list of strings) is a `PolicyError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.policy.context import Context
from bot.policy.document import PolicyError
from bot.policy.policies import content_key
from bot.policy.principals import Caller, PrincipalSpec, aws_principal, service_principal
from bot.policy.statements import Miss

_CONSTRAINTS = ("EncryptionContextEquals", "EncryptionContextSubset")


@dataclass(frozen=True, slots=True, eq=False)  # identity: grants are cached by content
class Grant:
    index: int
    label: str
    grantee: PrincipalSpec
    operations: frozenset[str]
    equals: dict[str, str] | None
    subset: dict[str, str] | None

    def evaluate(self, action: str, caller: Caller, context: Context) -> list[Miss]:
        """The reasons this grant does not allow the request; empty when it does."""
        if self.grantee.match(caller) is None:
            return [Miss("principal", expected=(self.grantee.source,), actual=(caller.arn,))]
        operation = action.split(":", 1)[1] if action.lower().startswith("kms:") else None
        if operation is None or operation.lower() not in self.operations:
            return [Miss("action", expected=tuple(sorted(self.operations)), actual=(action,))]
        misses: list[Miss] = []
        present = context.encryption_context
        if self.equals is not None and present != self.equals:
            misses.append(_constraint_miss("EncryptionContextEquals", self.equals, present))
        if self.subset is not None and any(present.get(k) != v for k, v in self.subset.items()):
            misses.append(_constraint_miss("EncryptionContextSubset", self.subset, present))
        return misses


def _constraint_miss(operator: str, expected: dict[str, str], present: dict[str, str]) -> Miss:
    return Miss(
        "condition",
        operator=operator,
        key="kms:EncryptionContext",
        expected=tuple(f"{k}={v}" for k, v in sorted(expected.items())),
        actual=tuple(f"{k}={v}" for k, v in sorted(present.items())),
    )


def _context_map(raw: object, where: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise PolicyError(f"{where} must map strings to strings")
    return dict(raw)


_GRANTS: dict[tuple[int, bytes | str], Grant] = {}


def parse_grant(raw: Any, index: int) -> Grant:
    """Read one grant (cached by content and position)."""
    content = content_key(raw)
    if content is None:
        try:
            return _parse_grant(raw, index)
        except RecursionError:
            raise PolicyError(f"grants[{index}]: nested too deeply") from None
    key = (index, content)
    found = _GRANTS.get(key)
    if found is None:
        found = _parse_grant(raw, index)
        if len(_GRANTS) >= 4096:
            _GRANTS.clear()
        _GRANTS[key] = found
    return found


def _parse_grant(raw: Any, index: int) -> Grant:
    where = f"grants[{index}]"
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: a grant must be a JSON object")
    grantee = raw.get("GranteePrincipal")
    if not isinstance(grantee, str) or not grantee:
        raise PolicyError(f"{where}: missing GranteePrincipal")
    operations = raw.get("Operations", [])
    if not isinstance(operations, list) or not all(isinstance(op, str) for op in operations):
        raise PolicyError(f"{where}: Operations must be a list of operation names")
    constraints = raw.get("Constraints") or {}
    if not isinstance(constraints, dict) or set(constraints) - set(_CONSTRAINTS):
        raise PolicyError(f"{where}: Constraints may hold only {' and '.join(_CONSTRAINTS)}")
    equals = constraints.get("EncryptionContextEquals")
    subset = constraints.get("EncryptionContextSubset")
    spec = (
        service_principal(grantee) if grantee.lower().endswith(".amazonaws.com") else aws_principal(grantee)
    )
    label = raw.get("GrantId") or raw.get("Name") or str(index)
    return Grant(
        index=index,
        label=str(label),
        grantee=spec,
        operations=frozenset(op.removeprefix("kms:").lower() for op in operations),
        equals=None
        if equals is None
        else _context_map(equals, f"{where}.Constraints.EncryptionContextEquals"),
        subset=None
        if subset is None
        else _context_map(subset, f"{where}.Constraints.EncryptionContextSubset"),
    )
