"""Organization policies: the SCPs along the caller's account path and the RCPs along the key's.

Read with the role `KMS_WHY_ORG_ROLE_ARN` names. The path from an account up to the root (ListParents,
one call per level) is cached for a few minutes, because accounts rarely move between OUs and the
walk is sequential; the policies attached at each level and their content are read every time,
except AWS managed ones (FullAWSAccess, RCPFullAWSAccess), whose text AWS never changes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from bot.aws.sessions import AccountSession
from bot.aws.trace import gather
from bot.aws.unseen import distinct, error_code, identity_statement, is_aws_error, read_failed
from bot.snapshot import NamedPolicy, OrgFacts, Unseen

if TYPE_CHECKING:
    from mypy_boto3_organizations.client import OrganizationsClient

PATH_TTL_SECONDS = 600.0
PolicyType = Literal["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"]
Level = tuple[NamedPolicy, ...]
Levels = tuple[Level, ...]
_NOT_MEMBER = frozenset({"ChildNotFoundException", "AccountNotFoundException", "TargetNotFoundException"})
_LAYER: dict[PolicyType, Literal["scp", "rcp"]] = {"SERVICE_CONTROL_POLICY": "scp",
                                                     "RESOURCE_CONTROL_POLICY": "rcp"}


class OrgCache:
    """Account paths (TTL) and AWS managed organization policies (forever)."""

    def __init__(self, ttl: float = PATH_TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._ttl = ttl
        self._clock = clock
        self._paths: dict[tuple[str, str], tuple[float, tuple[str, ...]]] = {}
        self._managed: dict[str, NamedPolicy] = {}

    def path(self, role_arn: str, account: str) -> tuple[str, ...] | None:
        with self._lock:
            entry = self._paths.get((role_arn, account))
        if entry is None or entry[0] < self._clock():
            return None
        return entry[1]

    def put_path(self, role_arn: str, account: str, path: tuple[str, ...]) -> None:
        with self._lock:
            self._paths[(role_arn, account)] = (self._clock() + self._ttl, path)

    def managed(self, policy_id: str) -> NamedPolicy | None:
        with self._lock:
            return self._managed.get(policy_id)

    def put_managed(self, policy_id: str, policy: NamedPolicy) -> None:
        with self._lock:
            self._managed[policy_id] = policy

    def clear(self) -> None:
        with self._lock:
            self._paths.clear()
            self._managed.clear()


ORG_CACHE = OrgCache()  # process-wide, empty at import


class _Failed(Exception):
    def __init__(self, unseen: Unseen) -> None:
        super().__init__(unseen.reason)
        self.unseen = unseen


class OrgReader:
    def __init__(self, session: AccountSession, executor: Executor, cache: OrgCache = ORG_CACHE) -> None:
        self.session = session
        self.orgs: OrganizationsClient = session.organizations()
        self.pool = executor
        self.cache = cache

    def _failed(self, what: str, call: str, target: str, exc: BaseException, action: str) -> _Failed:
        return _Failed(read_failed(what, call, target, self.session.role_arn, exc,
                                   statement=identity_statement([action], ["*"]),
                                   where=f"the identity policy of {self.session.role_arn}"))

    def organization(self) -> Any:
        """DescribeOrganization; None when the account is in no organization."""
        try:
            return self.orgs.describe_organization()["Organization"]
        except Exception as exc:
            if not is_aws_error(exc):
                raise
            if error_code(exc) == "AWSOrganizationsNotInUseException":
                return None
            raise self._failed("scp", "DescribeOrganization", "the organization", exc,
                               "organizations:DescribeOrganization") from exc

    def _not_member(self, account: str, what: str) -> _Failed:
        return _Failed(Unseen(what=what, reason=(
            f"account {account} is not in the organization that {self.session.role_arn} reads; "
            "its SCPs and RCPs, if any, could not be read")))

    def _parent(self, child: str, account: str, what: str) -> Any:
        try:
            parents = self.orgs.list_parents(ChildId=child)["Parents"]
        except Exception as exc:
            if not is_aws_error(exc):
                raise
            if error_code(exc) in _NOT_MEMBER:
                raise self._not_member(account, what) from exc
            raise self._failed(what, "ListParents", child, exc, "organizations:ListParents") from exc
        return parents[0] if parents else None

    def walk(self, node: str, account: str, kind: PolicyType) -> list[tuple[str, Level]]:
        """(target, its policies) from just below the root down to `node`.

        Each level's policies are read as soon as the level is found, while the walk goes on upwards,
        so a path of OUs costs one round trip per level instead of two.
        """

        def above() -> list[tuple[str, Level]]:
            parent = self._parent(node, account, _LAYER[kind])
            if parent is None or parent.get("Type") == "ROOT":
                return []
            return self.walk(str(parent["Id"]), account, kind)

        tasks: list[Callable[[], Any]] = [partial(self.level, node, kind), above]
        own, upper = gather(self.pool, tasks)
        return [*upper, (node, own)]

    def root(self, kinds: tuple[PolicyType, ...]) -> tuple[str, dict[PolicyType, Level]]:
        try:
            root_id = str(self.orgs.list_roots()["Roots"][0]["Id"])
        except Exception as exc:
            if not is_aws_error(exc):
                raise
            raise self._failed(_LAYER[kinds[0]], "ListRoots", "the organization", exc,
                               "organizations:ListRoots") from exc
        levels = gather(self.pool, [partial(self.level, root_id, kind) for kind in kinds])
        return root_id, dict(zip(kinds, levels, strict=True))

    def _policy(self, summary: Any, kind: PolicyType) -> NamedPolicy:
        policy_id = str(summary["Id"])
        if summary.get("AwsManaged"):
            cached = self.cache.managed(policy_id)
            if cached is not None:
                return cached
        try:
            described = self.orgs.describe_policy(PolicyId=policy_id)["Policy"]
        except Exception as exc:
            if not is_aws_error(exc):
                raise
            raise self._failed(_LAYER[kind], "DescribePolicy", policy_id, exc,
                               "organizations:DescribePolicy") from exc
        named = NamedPolicy(name=str(summary.get("Name", policy_id)), arn=summary.get("Arn"),
                            kind=_LAYER[kind], document=json.loads(described["Content"]))
        if summary.get("AwsManaged"):
            self.cache.put_managed(policy_id, named)
        return named

    def level(self, target: str, kind: PolicyType) -> tuple[NamedPolicy, ...]:
        try:
            pages = self.orgs.get_paginator("list_policies_for_target").paginate(TargetId=target, Filter=kind)
            summaries = [p for page in pages for p in page.get("Policies", [])]
        except Exception as exc:
            if not is_aws_error(exc):
                raise
            if error_code(exc) in _NOT_MEMBER:
                raise self._not_member(target, _LAYER[kind]) from exc
            raise self._failed(_LAYER[kind], "ListPoliciesForTarget", target, exc,
                               "organizations:ListPoliciesForTarget") from exc
        return tuple(gather(self.pool, [partial(self._policy, s, kind) for s in summaries]))

    def cached_levels(self, path: tuple[str, ...], kind: PolicyType) -> Levels:
        return tuple(gather(self.pool, [partial(self.level, target, kind) for target in path]))


def _guarded(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except _Failed as failed:
        return failed.unseen
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        return exc


def read_org(session: AccountSession, executor: Executor, *, principal_account: str | None,
             key_account: str | None, cache: OrgCache = ORG_CACHE) -> tuple[OrgFacts, list[Unseen]]:
    """SCP levels for the principal's account and RCP levels for the key's, read concurrently."""
    reader = OrgReader(session, executor, cache)
    wanted: dict[PolicyType, str] = {}
    if principal_account:
        wanted["SERVICE_CONTROL_POLICY"] = principal_account
    if key_account:
        wanted["RESOURCE_CONTROL_POLICY"] = key_account
    paths = {kind: cache.path(session.role_arn, account) for kind, account in wanted.items()}
    walking = tuple(kind for kind, path in paths.items() if path is None)
    tasks: list[Callable[[], Any]] = [
        partial(_guarded, reader.organization),
        partial(_guarded, partial(reader.root, walking)) if walking else lambda: None,
    ]
    for kind, account in wanted.items():
        path = paths[kind]
        if path is None:
            tasks.append(partial(_guarded, partial(reader.walk, account, account, kind)))
        else:
            tasks.append(partial(_guarded, partial(reader.cached_levels, path, kind)))
    organization, root, *per_kind = gather(executor, tasks)
    unseen: list[Unseen] = []
    if organization is None:
        return OrgFacts(scps=(), rcps=()), []  # no organization: no SCP or RCP applies
    found: dict[PolicyType, Levels | None] = {}
    for (kind, account), result in zip(wanted.items(), per_kind, strict=True):
        if isinstance(result, Unseen | BaseException):
            found[kind] = None
            unseen.append(_as_unseen(result, _LAYER[kind]))
        elif paths[kind] is not None:
            found[kind] = result
        elif isinstance(root, tuple):
            root_id, root_levels = root
            found[kind] = (root_levels[kind], *(level for _, level in result))
            cache.put_path(session.role_arn, account, (root_id, *(target for target, _ in result)))
        else:
            found[kind] = None
            unseen.append(_as_unseen(root, _LAYER[kind]))
    management: str | None = None
    if isinstance(organization, Unseen | BaseException):
        unseen.append(_as_unseen(organization, "scp" if principal_account else "rcp"))
    else:
        management = organization.get("MasterAccountId")
    return OrgFacts(management_account=management, scps=found.get("SERVICE_CONTROL_POLICY"),
                    rcps=found.get("RESOURCE_CONTROL_POLICY")), distinct(unseen)


def _as_unseen(result: Any, what: str) -> Unseen:
    if isinstance(result, Unseen):
        return result.model_copy(update={"what": what})
    return Unseen(what=what, reason=f"reading the organization failed: {error_code(result)}: {result}")
