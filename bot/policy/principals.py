"""Who is calling, and which policy principals name them (kms-evaluation.md §2.2, §2.16).

Match classes (what `MatchedStatement.principal_match` reports for key-policy statements):
- `direct`: the caller's own IAM user, assumed-role session or federated-user ARN (exact);
- `role`: the role ARN of the caller's role (the role itself or any of its sessions);
- `account`: the caller's account (`"123456789012"` or `arn:…:iam::123456789012:root`): delegation to
  that account's IAM policies, not a grant to anybody;
- `any`: `"*"` or `{"AWS": "*"}`;
- `service`: the caller's service principal (`{"Service": "logs.amazonaws.com"}`).

Names are compared by account and name, ignoring the IAM path, because a role or user name is unique in
its account (a policy stores the principal's identity, not its path). Unique ids (`AROA…`, `AIDA…`: a role
or user that was deleted and recreated), `Federated` and `CanonicalUser` principals and wildcard ARNs
match nobody.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal

from bot.policy.arn import parse_arn

CallerKind = Literal["user", "role", "session", "fedsession", "root", "service", "anonymous"]
MatchClass = Literal["direct", "role", "account", "any", "service"]
MATCH_RANK: dict[str, int] = {"direct": 0, "service": 1, "role": 2, "any": 3, "account": 4}

_ACCOUNT = re.compile(r"^\d{12}$")
_SERVICE = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$", re.IGNORECASE)


class CallerError(ValueError):
    """The request's principal is not a principal the engine can classify."""


@dataclass(frozen=True, slots=True)
class Caller:
    kind: CallerKind
    arn: str
    partition: str = "aws"
    account: str | None = None
    name: str | None = None  # user name, role name or federated-user name
    session: str | None = None  # role session name
    role_path: str = "/"
    # Derived once: plans and contexts ask for them on every evaluation.
    _principal_arn: str | None = field(default=None, init=False, repr=False, compare=False)
    _service_linked: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_principal_arn", self._derive_principal_arn())
        linked = self.kind in ("role", "session") and (
            (self.name or "").startswith("AWSServiceRoleFor")
            or self.role_path.startswith("/aws-service-role/")
        )
        object.__setattr__(self, "_service_linked", linked)

    @property
    def role_arn(self) -> str | None:
        if self.kind not in ("role", "session") or self.account is None:
            return None
        return f"arn:{self.partition}:iam::{self.account}:role{self.role_path}{self.name}"

    @property
    def principal_arn(self) -> str | None:
        """What AWS puts in `aws:PrincipalArn`: the role ARN for a session."""
        return self._principal_arn

    def _derive_principal_arn(self) -> str | None:
        if self.kind in ("role", "session"):
            return self.role_arn
        if self.kind == "service" or self.kind == "anonymous":
            return None
        return self.arn

    @property
    def is_service_linked(self) -> bool:
        return self._service_linked


def _split_path(resource: str, prefix: str) -> tuple[str, str]:
    """`role/path/to/Name` → ("/path/to/", "Name")."""
    rest = resource[len(prefix) :]
    path, _, name = rest.rpartition("/")
    return (f"/{path}/" if path else "/"), name


@lru_cache(maxsize=4096)
def classify_caller(text: str) -> Caller:
    """Classify the request's principal (cached: callers repeat); raises `CallerError`."""
    value = text.strip()
    if value in ("*", "anonymous"):
        return Caller("anonymous", value)
    if _SERVICE.match(value):
        return Caller("service", value.lower())
    arn = parse_arn(value)
    if arn is None or not _ACCOUNT.match(arn.account):
        raise CallerError(
            f"cannot classify principal {value!r}: expected an IAM or STS ARN or a service principal"
        )
    if arn.service == "iam":
        if arn.resource == "root":
            return Caller("root", value, arn.partition, arn.account)
        if arn.resource.startswith("user/"):
            path, name = _split_path(arn.resource, "user/")
            return Caller("user", value, arn.partition, arn.account, name)
        if arn.resource.startswith("role/"):
            path, name = _split_path(arn.resource, "role/")
            return Caller("role", value, arn.partition, arn.account, name, role_path=path)
    if arn.service == "sts":
        pieces = arn.resource.split("/")
        if pieces[0] == "assumed-role" and len(pieces) >= 3:
            return Caller("session", value, arn.partition, arn.account, pieces[1], "/".join(pieces[2:]))
        if pieces[0] == "federated-user" and len(pieces) >= 2:
            return Caller("fedsession", value, arn.partition, arn.account, "/".join(pieces[1:]))
    raise CallerError(f"cannot classify principal {value!r}: not a user, role, session, root or service")


def with_role_path(caller: Caller, principal_arn: object) -> Caller:
    """A session's role path is not in its ARN; take it from a given `aws:PrincipalArn` naming the same
    role (it decides service-linked roles and what the engine implies for `aws:PrincipalArn`)."""
    if caller.kind != "session" or not isinstance(principal_arn, str):
        return caller
    arn = parse_arn(principal_arn)
    if (
        arn is None
        or arn.service != "iam"
        or arn.account != caller.account
        or not arn.resource.startswith("role/")
    ):
        return caller
    path, name = _split_path(arn.resource, "role/")
    if name != caller.name:
        return caller
    return replace(caller, role_path=path)


@dataclass(frozen=True, slots=True)
class PrincipalSpec:
    """One value of a Principal/NotPrincipal element."""

    kind: Literal["any", "account", "user", "role", "session", "fedsession", "service", "nobody"]
    source: str
    account: str | None = None
    name: str | None = None
    session: str | None = None

    def match(self, caller: Caller) -> MatchClass | None:
        kind = self.kind
        if kind == "any":
            return "any"
        if kind == "nobody":
            return None
        if kind == "service":
            return "service" if caller.kind == "service" and caller.arn == self.name else None
        if caller.account != self.account:
            return None
        if kind == "account":
            return "account"
        if kind == "user":
            return "direct" if caller.kind == "user" and caller.name == self.name else None
        if kind == "role":
            return "role" if caller.kind in ("role", "session") and caller.name == self.name else None
        if kind == "session":
            matches = caller.kind == "session" and caller.name == self.name and caller.session == self.session
            return "direct" if matches else None
        return "direct" if caller.kind == "fedsession" and caller.name == self.name else None


@lru_cache(maxsize=8192)  # specs are immutable, and the same principals recur across policies
def aws_principal(value: str) -> PrincipalSpec:
    text = value.strip()
    if text == "*":
        return PrincipalSpec("any", value)
    if _ACCOUNT.match(text):
        return PrincipalSpec("account", value, text)
    arn = parse_arn(text)
    if arn is None or not _ACCOUNT.match(arn.account) or "*" in arn.resource or "?" in arn.resource:
        return PrincipalSpec("nobody", value)  # unique ids (AROA…/AIDA…), wildcard ARNs, garbage
    if arn.service == "iam":
        if arn.resource == "root":
            return PrincipalSpec("account", value, arn.account)
        if arn.resource.startswith("user/"):
            return PrincipalSpec("user", value, arn.account, _split_path(arn.resource, "user/")[1])
        if arn.resource.startswith("role/"):
            return PrincipalSpec("role", value, arn.account, _split_path(arn.resource, "role/")[1])
    if arn.service == "sts":
        pieces = arn.resource.split("/")
        if pieces[0] == "assumed-role" and len(pieces) >= 3:
            return PrincipalSpec("session", value, arn.account, pieces[1], "/".join(pieces[2:]))
        if pieces[0] == "federated-user" and len(pieces) >= 2:
            return PrincipalSpec("fedsession", value, arn.account, "/".join(pieces[1:]))
    return PrincipalSpec("nobody", value)


@lru_cache(maxsize=1024)
def service_principal(value: str) -> PrincipalSpec:
    text = value.strip()
    if text == "*":
        return PrincipalSpec("any", value)
    return PrincipalSpec("service", value, name=text.lower())


def best_match(specs: tuple[PrincipalSpec, ...], caller: Caller) -> MatchClass | None:
    """The strongest class with which any of `specs` names the caller."""
    best: MatchClass | None = None
    for spec in specs:
        found = spec.match(caller)
        if found is not None and (best is None or MATCH_RANK[found] < MATCH_RANK[best]):
            best = found
    return best
