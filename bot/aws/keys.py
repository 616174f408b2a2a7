"""The key: metadata, the key policy (exact text too), every grant, aliases and tags.

The key policy and grants are read afresh for every analysis, never cached: after someone fixes
the policy and pastes the error again, the answer must reflect the fix. Everything is read with the
reader role in the key's account, with a client in the key's region.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from bot.aws.sessions import AccountSession
from bot.aws.trace import gather
from bot.aws.unseen import error_code, is_aws_error, is_denied, key_policy_statement, read_failed
from bot.snapshot import Json, KeyFacts, Unseen

_KEY_ARN = re.compile(r"arn:(?P<partition>[\w-]+):kms:(?P<region>[\w-]+):(?P<account>\d{12}):key/(?P<id>.+)")
_ALIAS_ARN = re.compile(
    r"arn:(?P<partition>[\w-]+):kms:(?P<region>[\w-]+):(?P<account>\d{12}):(?P<alias>alias/.+)"
)


@dataclass(frozen=True)
class KeyRef:
    """Where the key is and how the error named it: `ref` is a key ARN, an alias ARN or `alias/…`."""

    ref: str
    account: str
    region: str

    @property
    def key_arn(self) -> str | None:
        return self.ref if _KEY_ARN.fullmatch(self.ref) else None


def key_ref(resource: str | None, key_id: str | None, account: str | None,
            region: str | None) -> KeyRef | None:
    """A KeyRef when the key's account and region are known (from its ARN, or given), else None."""
    for text in (resource, key_id):
        if not text:
            continue
        match = _KEY_ARN.fullmatch(text) or _ALIAS_ARN.fullmatch(text)
        if match:
            return KeyRef(text, match["account"], match["region"])
    if key_id and account and region:
        if key_id.startswith("alias/"):
            return KeyRef(key_id, account, region)
        return KeyRef(f"arn:aws:kms:{region}:{account}:key/{key_id}", account, region)
    return None


def _grant(grant: Any) -> Json:
    """A ListGrants entry as JSON-ready data (CreationDate as ISO text)."""
    out: Json = {}
    for name, value in dict(grant).items():
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _attempt(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        return exc


def _one_remedy(unseen: list[Unseen]) -> list[Unseen]:
    """One key-policy statement lets the reader see everything about the key: offer it once."""
    with_statement = [u for u in unseen if u.remedy_statement is not None]
    if not with_statement:
        return unseen
    offered = next((u for u in with_statement if u.what == "key_policy"), with_statement[0])
    same = f"The statement offered for {offered.what} lets the reader role see this too."
    return [u if u is offered or u.remedy_statement is None
            else u.model_copy(update={"remedy": same, "remedy_statement": None}) for u in unseen]


class KeyReader:
    def __init__(self, session: AccountSession, executor: Executor) -> None:
        self.session = session
        self.pool = executor

    def _unseen(self, what: str, call: str, key: str, exc: BaseException) -> Unseen:
        return read_failed(what, call, key, self.session.role_arn, exc,
                           statement=key_policy_statement(self.session.role_arn),
                           where=f"the key policy of {key} (the reader role's own policy allows it already; "
                                 "the key policy must admit it too)")

    def read(self, ref: KeyRef) -> tuple[KeyFacts | None, list[Unseen]]:
        kms = self.session.kms(ref.region)
        key_arn = ref.key_arn
        described: Any = None
        if key_arn is None:  # an alias: its key is needed before the policy and grants can be read
            described = _attempt(lambda: kms.describe_key(KeyId=ref.ref)["KeyMetadata"])
            if isinstance(described, BaseException):
                return None, [self._describe_failed(ref.ref, described)]
            key_arn = str(described["Arn"])
        arn = key_arn

        def grants() -> list[Json]:
            pages = kms.get_paginator("list_grants").paginate(KeyId=arn)
            return [_grant(g) for page in pages for g in page.get("Grants", [])]

        def aliases() -> list[str]:
            pages = kms.get_paginator("list_aliases").paginate(KeyId=arn)
            return [a["AliasName"] for page in pages for a in page.get("Aliases", [])]

        def tags() -> dict[str, str]:
            pages = kms.get_paginator("list_resource_tags").paginate(KeyId=arn)
            return {t["TagKey"]: t["TagValue"] for page in pages for t in page.get("Tags", [])}

        tasks: list[Callable[[], Any]] = [
            partial(_attempt, lambda: kms.get_key_policy(KeyId=arn, PolicyName="default")["Policy"]),
            partial(_attempt, grants), partial(_attempt, aliases), partial(_attempt, tags),
        ]
        if described is None:
            tasks.append(partial(_attempt, lambda: kms.describe_key(KeyId=arn)["KeyMetadata"]))
        policy_text, grant_list, alias_list, tag_map, *rest = gather(self.pool, tasks)
        if rest:
            described = rest[0]
        return self._facts(arn, described, policy_text, grant_list, alias_list, tag_map)

    def _describe_failed(self, key: str, exc: BaseException) -> Unseen:
        if error_code(exc) == "NotFoundException":
            return Unseen(what="key_state",
                          reason=f"DescribeKey found no key {key} in that account and Region (a wrong "
                                 f"Region, a deleted key, or a key that never existed there): "
                                 f"{exc}")
        return self._unseen("key_state", "DescribeKey", key, exc)

    def _facts(self, arn: str, described: Any, policy_text: Any, grant_list: Any, alias_list: Any,
               tag_map: Any) -> tuple[KeyFacts, list[Unseen]]:
        match = _KEY_ARN.fullmatch(arn)
        assert match is not None  # a KeyRef's ARN or DescribeKey's
        unseen: list[Unseen] = []
        meta: dict[str, Any] = {}
        if isinstance(described, BaseException):
            if error_code(described) == "NotFoundException":  # the other reads failed the same way
                return KeyFacts(arn=arn, key_id=match["id"], account=match["account"], region=match["region"],
                                not_found=True), [self._describe_failed(arn, described)]
            unseen.append(self._describe_failed(arn, described))
        else:
            meta = dict(described)
        policy: Json | None = None
        if isinstance(policy_text, BaseException):
            unseen.append(self._unseen("key_policy", "GetKeyPolicy", arn, policy_text))
            policy_text = None
        else:
            policy = json.loads(policy_text)
        if isinstance(grant_list, BaseException):
            unseen.append(self._unseen("grants", "ListGrants", arn, grant_list))
            grant_list = None
        if isinstance(alias_list, BaseException):
            unseen.append(self._unseen("kms:ResourceAliases", "ListAliases", arn, alias_list))
            alias_list = []
        if isinstance(tag_map, BaseException):
            if is_denied(tag_map) or meta.get("KeyManager") != "AWS":  # AWS managed keys carry no tags
                unseen.append(self._unseen("aws:ResourceTag", "ListResourceTags", arn, tag_map))
            tag_map = {}
        unseen = _one_remedy(unseen)
        primary = (meta.get("MultiRegionConfiguration") or {}).get("PrimaryKey") or {}
        facts = KeyFacts(
            arn=arn, key_id=match["id"], account=match["account"], region=match["region"],
            manager=meta.get("KeyManager"), state=meta.get("KeyState"), multi_region=meta.get("MultiRegion"),
            multi_region_primary_arn=primary.get("Arn"), key_spec=meta.get("KeySpec"),
            key_usage=meta.get("KeyUsage"), origin=meta.get("Origin"), aliases=tuple(alias_list),
            tags=tag_map, policy=policy, policy_text=policy_text,
            grants=tuple(grant_list) if grant_list is not None else None,
        )
        return facts, unseen
