"""Reading IAM policy documents with the reader role: managed (cached by version), inline, listings.

Managed policy versions are cached for the life of the process, because a version never changes;
which version is the default is read every time (GetPolicy), so an edited policy is seen at once.
The cache key includes the policy id, which a deleted and re-created policy (same ARN, `v1` again)
does not keep.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from bot.aws.sessions import AccountSession
from bot.aws.trace import gather
from bot.aws.unseen import identity_statement, is_aws_error, read_failed
from bot.snapshot import Json, NamedPolicy, Unseen

if TYPE_CHECKING:
    from mypy_boto3_iam.client import IAMClient

ManagedKind = Literal["managed", "group_managed", "boundary"]
InlineKind = Literal["inline", "group_inline"]


class PolicyVersionCache:
    """Managed policy documents by (policy ARN, policy id, version id)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._documents: dict[tuple[str, str, str], Json] = {}

    def get(self, arn: str, policy_id: str, version: str) -> Json | None:
        with self._lock:
            return self._documents.get((arn, policy_id, version))

    def put(self, arn: str, policy_id: str, version: str, document: Json) -> None:
        with self._lock:
            self._documents[(arn, policy_id, version)] = document

    def clear(self) -> None:
        with self._lock:
            self._documents.clear()


POLICY_VERSIONS = PolicyVersionCache()  # process-wide, empty at import


def decode_document(document: Any) -> Json:
    """boto3 decodes IAM policy documents; accept the URL-encoded JSON text the raw API returns too."""
    if isinstance(document, dict):
        return document
    text = str(document).strip()
    if text[:3].upper() == "%7B":
        text = urllib.parse.unquote(text)
    parsed: Json = json.loads(text)
    return parsed


@dataclass
class Reads:
    """Policies gathered for one principal, what failed, and whether the set is complete."""

    policies: list[NamedPolicy] = field(default_factory=list)
    unseen: list[Unseen] = field(default_factory=list)
    complete: bool = True

    def merge(self, *others: Reads) -> Reads:
        for other in others:
            self.policies.extend(other.policies)
            self.unseen.extend(other.unseen)
            self.complete = self.complete and other.complete
        return self


@dataclass(frozen=True)
class InlineRead:
    """One inline policy to fetch: `fetch` is the Get*Policy call."""

    fetch: Callable[[], Any]
    label: str  # e.g. `role/App inline kms`
    kind: InlineKind
    action: str  # the IAM action fetch needs, for the remedy
    resource: str


class IamReader:
    """IAM reads in one account; failures become `Unseen` entries naming the statement that would help."""

    def __init__(self, session: AccountSession, executor: Executor,
                 versions: PolicyVersionCache = POLICY_VERSIONS) -> None:
        self.session = session
        self.iam: IAMClient = session.iam()
        self.pool = executor
        self._versions = versions

    def failed(self, what: str, call: str, target: str, exc: BaseException, action: str,
               resource: str) -> Unseen:
        return read_failed(what, call, target, self.session.role_arn, exc,
                           statement=identity_statement([action], [resource]),
                           where=f"the identity policy of {self.session.role_arn}")

    def managed(self, arn: str, kind: ManagedKind, what: str = "identity") -> Reads:
        """GetPolicy (the default version, read fresh), then GetPolicyVersion unless cached."""
        try:
            policy = self.iam.get_policy(PolicyArn=arn)["Policy"]
            version, policy_id = policy.get("DefaultVersionId", "v1"), policy.get("PolicyId", "")
            document = self._versions.get(arn, policy_id, version)
            if document is None:
                body = self.iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
                document = decode_document(body.get("Document"))
                self._versions.put(arn, policy_id, version, document)
        except Exception as exc:
            if not is_aws_error(exc):
                raise
            unseen = self.failed(what, "GetPolicy/GetPolicyVersion", arn, exc, "iam:GetPolicyVersion", arn)
            return Reads(unseen=[unseen], complete=False)
        name = policy.get("PolicyName", arn.rsplit("/", 1)[-1])
        return Reads(policies=[NamedPolicy(name=name, arn=arn, kind=kind, document=document)])

    def inline(self, read: InlineRead) -> Reads:
        try:
            document = decode_document(read.fetch()["PolicyDocument"])
        except Exception as exc:
            if not is_aws_error(exc):
                raise
            call = read.action.split(":", 1)[1]
            return Reads(unseen=[self.failed("identity", call, read.label, exc, read.action, read.resource)],
                         complete=False)
        return Reads(policies=[NamedPolicy(name=read.label, kind=read.kind, document=document)])

    def listing(self, call: Callable[[], list[str]], target: str, action: str,
                resource: str) -> tuple[list[str], Reads]:
        """A List* call (all pages); on failure no names, an Unseen, and an incomplete set."""
        try:
            return call(), Reads()
        except Exception as exc:
            if not is_aws_error(exc):
                raise
            unseen = self.failed("identity", action.split(":", 1)[1], target, exc, action, resource)
            return [], Reads(unseen=[unseen], complete=False)

    def documents(self, managed: Sequence[tuple[str, ManagedKind]], inline: Sequence[InlineRead]) -> Reads:
        """Every named policy body, fetched concurrently, in a stable order (managed first)."""
        tasks: list[Callable[[], Reads]] = [partial(self.managed, arn, kind) for arn, kind in managed]
        tasks += [partial(self.inline, read) for read in inline]
        return Reads().merge(*gather(self.pool, tasks))
