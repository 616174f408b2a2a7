"""Who called: the caller ARN resolved to its role or user, with every identity policy and the boundary.

Reads run in two waves: the entity and its policy lists together, then every policy body together
(a user's group policies need a third, except for the groups the user was in at the last analysis,
which are read ahead in the first). A policy that cannot be read leaves `identity_policies`
None: an incomplete set would pass for "no statement allows", which is a guess.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial
from typing import Any

from bot.aws.iam_policies import IamReader, InlineRead, ManagedKind, Reads
from bot.aws.sessions import AccountSession
from bot.aws.trace import gather
from bot.aws.unseen import error_code, is_aws_error
from bot.snapshot import PrincipalFacts, PrincipalKind, Unseen

IDENTITY_CENTER_PATH = "/aws-reserved/sso.amazonaws.com/"
SERVICE_LINKED_PATH = "/aws-service-role/"
_CALLER = re.compile(r"arn:(?P<partition>[\w-]+):(?P<service>iam|sts)::(?P<account>\d{12}):(?P<resource>.+)")


@dataclass(frozen=True)
class Caller:
    """The caller ARN taken apart, before any AWS read."""

    arn: str
    kind: PrincipalKind
    account: str | None = None
    partition: str = "aws"
    name: str | None = None  # role, user or federated user name
    session_name: str | None = None


def classify(arn: str) -> Caller:
    if not arn.startswith("arn:") and arn.endswith(".amazonaws.com"):
        return Caller(arn, "service")
    match = _CALLER.fullmatch(arn)
    if match is None:
        return Caller(arn, "unknown")
    account, partition, resource = match["account"], match["partition"], match["resource"]
    if match["service"] == "sts":
        if resource.startswith("assumed-role/") and resource.count("/") >= 2:
            _, role, session = resource.split("/", 2)
            return Caller(arn, "assumed_role", account, partition, role, session)
        if resource.startswith("federated-user/"):
            return Caller(arn, "federated_user", account, partition, resource.split("/", 1)[1])
        return Caller(arn, "unknown", account, partition)
    if resource == "root":
        return Caller(arn, "root", account, partition)
    if resource.startswith("role/"):
        return Caller(arn, "role", account, partition, resource.rsplit("/", 1)[1])
    if resource.startswith("user/"):
        return Caller(arn, "user", account, partition, resource.rsplit("/", 1)[1])
    return Caller(arn, "unknown", account, partition)


def _entity(call: Callable[[], Any]) -> Any:
    """The Get* result, or the AWS error it ended in (so the other reads of the wave still finish)."""
    try:
        return call()
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        return exc


def _missing_or_failed(reader: IamReader, caller: Caller, kind: str, exc: BaseException,
                       resource: str) -> Unseen:
    call = "GetRole" if kind == "role" else "GetUser"
    unseen = reader.failed("identity", call, f"{kind} {caller.name}", exc, f"iam:{call}", resource)
    if error_code(exc) == "NoSuchEntity":
        return unseen.model_copy(update={
            "reason": f"{kind} {caller.name} does not exist in account {caller.account} (deleted or "
                      f"renamed since the error?); {unseen.reason}"})
    return unseen


def read_role(reader: IamReader, caller: Caller) -> tuple[PrincipalFacts, list[Unseen]]:
    name = caller.name or ""
    resource = f"arn:{caller.partition}:iam::{caller.account}:role/*"
    iam = reader.iam

    def attached() -> list[str]:
        pages = iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
        return [p["PolicyArn"] for page in pages for p in page.get("AttachedPolicies", [])]

    def inline() -> list[str]:
        pages = iam.get_paginator("list_role_policies").paginate(RoleName=name)
        return [n for page in pages for n in page.get("PolicyNames", [])]

    role_or_error, (managed, listed), (names, listed_inline) = gather(reader.pool, [
        partial(_entity, lambda: iam.get_role(RoleName=name)["Role"]),
        partial(reader.listing, attached, f"role {name}", "iam:ListAttachedRolePolicies", resource),
        partial(reader.listing, inline, f"role {name}", "iam:ListRolePolicies", resource),
    ])
    if isinstance(role_or_error, BaseException):
        facts = PrincipalFacts(arn=caller.arn, kind=caller.kind, account=caller.account,
                               session_name=caller.session_name)
        return facts, [_missing_or_failed(reader, caller, "role", role_or_error, resource)]
    role: dict[str, Any] = dict(role_or_error)
    boundary_arn = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    reads_of = [InlineRead(partial(iam.get_role_policy, RoleName=name, PolicyName=n),
                           f"role/{name} inline {n}", "inline", "iam:GetRolePolicy", resource)
                for n in names]
    own: list[tuple[str, ManagedKind]] = [(a, "managed") for a in managed]
    tasks: list[Callable[[], Reads]] = [partial(reader.documents, own, reads_of)]
    if boundary_arn:
        tasks.append(partial(reader.managed, boundary_arn, "boundary", "permissions_boundary"))
    documents, *boundary = gather(reader.pool, tasks)
    reads = Reads().merge(listed, listed_inline, documents)
    path = str(role.get("Path", "/"))
    facts = PrincipalFacts(
        arn=caller.arn, kind=caller.kind, account=caller.account, role_arn=str(role["Arn"]),
        unique_id=role.get("RoleId"), session_name=caller.session_name,
        tags={t["Key"]: t["Value"] for t in role.get("Tags", [])},
        is_identity_center=path.startswith(IDENTITY_CENTER_PATH),
        is_service_linked=path.startswith(SERVICE_LINKED_PATH),
        identity_policies=tuple(reads.policies) if reads.complete else None,
        permissions_boundary=boundary[0].policies[0] if boundary and boundary[0].policies else None,
        has_boundary=bool(boundary_arn),
    )
    return facts, reads.unseen + (boundary[0].unseen if boundary else [])


class GroupMembership:
    """The groups each user was last seen in, by (account, user name): a guess to read ahead, never an
    answer (every analysis still lists the user's groups and keeps only those)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[tuple[str | None, str], tuple[str, ...]] = {}

    def get(self, key: tuple[str | None, str]) -> tuple[str, ...]:
        with self._lock:
            return self._groups.get(key, ())

    def put(self, key: tuple[str | None, str], groups: tuple[str, ...]) -> None:
        with self._lock:
            self._groups[key] = groups

    def clear(self) -> None:
        with self._lock:
            self._groups.clear()


GROUP_MEMBERSHIP = GroupMembership()  # process-wide, empty at import


def _group_reads(reader: IamReader, account: str | None, partition: str, group: str) -> Reads:
    resource = f"arn:{partition}:iam::{account}:group/*"
    iam = reader.iam

    def attached() -> list[str]:
        pages = iam.get_paginator("list_attached_group_policies").paginate(GroupName=group)
        return [p["PolicyArn"] for page in pages for p in page.get("AttachedPolicies", [])]

    def inline() -> list[str]:
        pages = iam.get_paginator("list_group_policies").paginate(GroupName=group)
        return [n for page in pages for n in page.get("PolicyNames", [])]

    (managed, listed), (names, listed_inline) = gather(reader.pool, [
        partial(reader.listing, attached, f"group {group}", "iam:ListAttachedGroupPolicies", resource),
        partial(reader.listing, inline, f"group {group}", "iam:ListGroupPolicies", resource),
    ])
    reads_of = [InlineRead(partial(iam.get_group_policy, GroupName=group, PolicyName=n),
                           f"group/{group} inline {n}", "group_inline", "iam:GetGroupPolicy", resource)
                for n in names]
    group_managed: list[tuple[str, ManagedKind]] = [(a, "group_managed") for a in managed]
    return Reads().merge(listed, listed_inline, reader.documents(group_managed, reads_of))


def read_user(reader: IamReader, caller: Caller) -> tuple[PrincipalFacts, list[Unseen]]:
    name = caller.name or ""
    resource = f"arn:{caller.partition}:iam::{caller.account}:user/*"
    iam = reader.iam

    def groups() -> list[str]:
        pages = iam.get_paginator("list_groups_for_user").paginate(UserName=name)
        return [g["GroupName"] for page in pages for g in page.get("Groups", [])]

    def attached() -> list[str]:
        pages = iam.get_paginator("list_attached_user_policies").paginate(UserName=name)
        return [p["PolicyArn"] for page in pages for p in page.get("AttachedPolicies", [])]

    def inline() -> list[str]:
        pages = iam.get_paginator("list_user_policies").paginate(UserName=name)
        return [n for page in pages for n in page.get("PolicyNames", [])]

    # The groups this user was in last time are read alongside ListGroupsForUser, so a warm analysis
    # needs no extra stage for them; only the groups it names are kept, and new ones are read after.
    member_key = (caller.account, name)
    guessed = GROUP_MEMBERSHIP.get(member_key)
    first: list[Callable[[], Any]] = [
        partial(_entity, lambda: iam.get_user(UserName=name)["User"]),
        partial(reader.listing, groups, f"user {name}", "iam:ListGroupsForUser", resource),
        partial(reader.listing, attached, f"user {name}", "iam:ListAttachedUserPolicies", resource),
        partial(reader.listing, inline, f"user {name}", "iam:ListUserPolicies", resource),
    ]
    first += [partial(_group_reads, reader, caller.account, caller.partition, g) for g in guessed]
    user_or_error, (group_names, listed_groups), (managed, listed), (names, listed_inline), *early = gather(
        reader.pool, first)
    early_groups: dict[str, Reads] = dict(zip(guessed, early, strict=True))
    if isinstance(user_or_error, BaseException):
        facts = PrincipalFacts(arn=caller.arn, kind=caller.kind, account=caller.account)
        return facts, [_missing_or_failed(reader, caller, "user", user_or_error, resource)]
    if listed_groups.complete:
        GROUP_MEMBERSHIP.put(member_key, tuple(group_names))
    user: dict[str, Any] = dict(user_or_error)
    boundary_arn = (user.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    reads_of = [InlineRead(partial(iam.get_user_policy, UserName=name, PolicyName=n),
                           f"user/{name} inline {n}", "inline", "iam:GetUserPolicy", resource)
                for n in names]
    own: list[tuple[str, ManagedKind]] = [(a, "managed") for a in managed]
    tasks: list[Callable[[], Reads]] = [partial(reader.documents, own, reads_of)]
    tasks += [partial(_group_reads, reader, caller.account, caller.partition, g)
              for g in group_names if g not in early_groups]
    boundary: list[Reads] = []
    if boundary_arn:
        tasks.append(partial(reader.managed, boundary_arn, "boundary", "permissions_boundary"))
    results = gather(reader.pool, tasks)
    if boundary_arn:
        boundary = [results.pop()]
    kept = [early_groups[g] for g in group_names if g in early_groups]
    reads = Reads().merge(listed_groups, listed, listed_inline, *results, *kept)
    facts = PrincipalFacts(
        arn=caller.arn, kind="user", account=caller.account, user_arn=str(user["Arn"]),
        unique_id=user.get("UserId"), tags={t["Key"]: t["Value"] for t in user.get("Tags", [])},
        identity_policies=tuple(reads.policies) if reads.complete else None,
        permissions_boundary=boundary[0].policies[0] if boundary and boundary[0].policies else None,
        has_boundary=bool(boundary_arn),
    )
    return facts, reads.unseen + (boundary[0].unseen if boundary else [])


def read_principal(session: AccountSession, executor: Executor, caller: Caller
                   ) -> tuple[PrincipalFacts, list[Unseen]]:
    """Every IAM fact about a role, role session or user; other callers need or allow no reads."""
    reader = IamReader(session, executor)
    if caller.kind in ("role", "assumed_role"):
        return read_role(reader, caller)
    if caller.kind == "user":
        return read_user(reader, caller)
    return unread_principal(caller)


def unread_principal(caller: Caller, reason: str | None = None) -> tuple[PrincipalFacts, list[Unseen]]:
    """Facts from the ARN alone: the root user and services need no identity policy; others are unseen."""
    base = PrincipalFacts(arn=caller.arn, kind=caller.kind, account=caller.account,
                          session_name=caller.session_name)
    if caller.kind in ("root", "service") and reason is None:
        return base.model_copy(update={"identity_policies": (), "has_boundary": False}), []
    if reason is None:
        reason = {
            "federated_user": "a federated user's permissions are those of the IAM user that called "
                              "GetFederationToken, limited by its session policy; the error does not say "
                              "which user",
            "unknown": f"the caller {caller.arn!r} is not an IAM user, role or role session ARN",
        }.get(caller.kind, f"the caller {caller.arn!r} could not be read")
    return base, [Unseen(what="identity", reason=reason)]
