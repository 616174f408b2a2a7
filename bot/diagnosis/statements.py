"""Reading policy statements for the diagnosis and the patches: who they name, what they cover (pure).

The engine decides; these helpers only point at *which* statement a person should look at, so they
are deliberately simple (globs on actions and ARNs, principals as strings).
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any

Json = dict[str, Any]
UNIQUE_ID = re.compile(r"^A(ROA|IDA)[A-Z0-9]{8,}$")


def statements(policy: Json | None) -> list[Json]:
    if not policy:
        return []
    found = policy.get("Statement", [])
    if isinstance(found, dict):
        found = [found]
    return [s for s in found if isinstance(s, dict)]


def label(statement: Json, index: int) -> str:
    """The Sid, else the 0-based index: how the engine names a statement."""
    sid = statement.get("Sid")
    return str(sid) if sid else str(index)


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def aws_principals(statement: Json) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if isinstance(principal, dict):
        return as_list(principal.get("AWS"))
    return []


def covers_action(statement: Json, action: str) -> bool:
    wanted = action.lower()
    if "NotAction" in statement:
        return not any(fnmatchcase(wanted, p.lower()) for p in as_list(statement["NotAction"]))
    return any(fnmatchcase(wanted, p.lower()) for p in as_list(statement.get("Action")))


def covers_resource(statement: Json, arn: str) -> bool:
    if "NotResource" in statement:
        return not any(fnmatchcase(arn, p) for p in as_list(statement["NotResource"]))
    return any(fnmatchcase(arn, p) for p in as_list(statement.get("Resource")))


def kms_actions(statement: Json) -> list[str]:
    return [a for a in as_list(statement.get("Action")) if a.lower().startswith("kms:")]


def account_root(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def names(statement: Json, *, role_arn: str | None, principal_arn: str, account: str | None) -> str | None:
    """How the statement's Principal names the caller: role, session, account, any, or None."""
    for value in aws_principals(statement):
        if value == "*":
            return "any"
        if role_arn and value == role_arn:
            return "role"
        if value == principal_arn:
            return "session"
        if account and value in (account, account_root(account)):
            return "account"
    return None


def condition_values(statement: Json, key: str) -> list[tuple[str, list[str]]]:
    """(operator, values) for every test of `key` (case-insensitive) in the statement."""
    found: list[tuple[str, list[str]]] = []
    for operator, block in (statement.get("Condition") or {}).items():
        if not isinstance(block, dict):
            continue
        for name, values in block.items():
            if str(name).lower() == key.lower():
                found.append((str(operator), as_list(values)))
    return found


def condition_keys(statement: Json) -> list[str]:
    keys: list[str] = []
    for block in (statement.get("Condition") or {}).values():
        if isinstance(block, dict):
            keys.extend(str(name) for name in block)
    return keys
