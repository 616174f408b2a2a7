"""A diagnosis: the public shape of `kms-why explain --json` and `kms-why demo --json` (interfaces.md)."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from bot.parse.models import Denial

Layer = Literal[
    "identity",
    "key_policy",
    "grants",
    "scp",
    "rcp",
    "permissions_boundary",
    "session",
    "vpc_endpoint",
    "key_state",
]
# Every layer, in the order answers list them, and how a person names each.
LAYER_ORDER: tuple[Layer, ...] = get_args(Layer)
LAYER_WORDS: dict[str, str] = {
    "identity": "IAM policy",
    "key_policy": "key policy",
    "grants": "grants",
    "scp": "SCP",
    "rcp": "RCP",
    "permissions_boundary": "permissions boundary",
    "session": "session policy",
    "vpc_endpoint": "VPC endpoint policy",
    "key_state": "key state",
}


def layer_words(layer: str) -> str:
    """How a person names the layer ("key policy", "IAM policy", "SCP", …)."""
    return LAYER_WORDS.get(layer, layer)


Verdict = Literal["allow", "explicit_deny", "implicit_deny"]
FixKind = Literal["key_policy_patch", "iam_policy_patch", "org_policy_change", "reencrypt", "other"]


class Cause(BaseModel):
    model_config = ConfigDict(frozen=True)

    catalogue: int  # row of kms-evaluation.md §4, 0 when none fits
    code: str  # stable slug
    summary: str  # one sentence a person reads


class Lock(BaseModel):
    model_config = ConfigDict(frozen=True)

    layer: Layer
    allows: bool | None  # None: could not be seen
    policy: str | None = None  # ARN or name of the deciding policy
    statement: str | None = None  # Sid or 0-based index
    explain: str | None = None


class Fix(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: FixKind
    summary: str
    diff: str | None = None
    policy_sha256_before: str | None = None
    verified: bool = False
    # For a key-policy patch: the complete policy to put, and where.
    key_arn: str | None = None
    policy_after: dict[str, Any] | None = None
    statement: dict[str, Any] | None = None  # the IAM statement to add, for iam_policy_patch
    commands: tuple[str, ...] = ()  # AWS CLI commands to apply or verify
    blast_radius: str | None = None


class UnseenRemedy(BaseModel):
    """The policy statement that would let the reader role see something it could not (issue 4)."""

    model_config = ConfigDict(frozen=True)

    what: tuple[str, ...]  # the unseen items it would reveal (layer names or context keys, as `Unseen.what`)
    statement: dict[str, Any]
    remedy: str | None = None  # the collector's sentence saying which policy the statement goes in


class Diagnosis(BaseModel):
    model_config = ConfigDict(frozen=True)

    denial: Denial
    verdict: Verdict
    cause: Cause
    locks: tuple[Lock, ...]
    unseen: tuple[str, ...] = ()
    unseen_details: tuple[str, ...] = ()  # one sentence per unseen item: what, why, what would help
    unseen_remedies: tuple[UnseenRemedy, ...] = ()  # statements the details' "Add this statement" refer to
    fixes: tuple[Fix, ...] = ()
    inferred: tuple[str, ...] = ()  # facts recovered from CloudTrail rather than the paste
    cross_account: bool = False
    principal_account: str | None = None
    key_account: str | None = None
    key_manager: Literal["CUSTOMER", "AWS"] | None = None
    question: str | None = None  # a question back to the user (e.g. a redacted account id)
    aws_calls: int = 0
    round_trips: int = 0
    notes: tuple[str, ...] = Field(default=())

    def public_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["denial"] = self.denial.model_dump(mode="json", exclude={"error_code", "policy_arn", "message"})
        return data
