"""What the collectors read from the live accounts for one analysis (pure models, no I/O).

`bot/aws/` fills a `Snapshot`; the diagnosis turns it into a `SimulationDocument`. Anything that
could not be read is `None` plus an `Unseen` entry saying what, why, and what would let us see it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Json = dict[str, Any]
PrincipalKind = Literal[
    "user", "role", "assumed_role", "federated_user", "root", "service", "unknown"
]


class NamedPolicy(BaseModel):
    """A policy document and where it came from (an ARN, or `role/R inline P`)."""

    model_config = ConfigDict(frozen=True)

    name: str
    arn: str | None = None
    kind: Literal[
        "managed", "inline", "group_managed", "group_inline", "boundary", "session", "scp", "rcp", "vpce"
    ]
    document: Json


class PrincipalFacts(BaseModel):
    model_config = ConfigDict(frozen=True)

    arn: str  # as the caller appeared (session ARN for a role session)
    kind: PrincipalKind
    account: str | None = None
    role_arn: str | None = None  # with path, for roles and their sessions
    user_arn: str | None = None
    unique_id: str | None = None  # AROA…/AIDA…
    session_name: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    is_identity_center: bool = False
    is_service_linked: bool = False
    identity_policies: tuple[NamedPolicy, ...] | None = None  # None: could not be read
    permissions_boundary: NamedPolicy | None = None
    has_boundary: bool | None = None  # None: unknown


class KeyFacts(BaseModel):
    model_config = ConfigDict(frozen=True)

    arn: str
    key_id: str
    account: str
    region: str
    manager: Literal["CUSTOMER", "AWS"] | None = None
    state: str | None = None
    multi_region: bool | None = None
    multi_region_primary_arn: str | None = None
    key_spec: str | None = None
    key_usage: str | None = None
    origin: str | None = None
    aliases: tuple[str, ...] = ()
    tags: dict[str, str] = Field(default_factory=dict)
    policy: Json | None = None  # None: could not be read
    policy_text: str | None = None  # exactly as GetKeyPolicy returned it
    grants: tuple[Json, ...] | None = None  # ListGrants shape; None: could not be read
    not_found: bool = False  # DescribeKey said NotFoundException in the key's account and Region


class OrgFacts(BaseModel):
    model_config = ConfigDict(frozen=True)

    management_account: str | None = None
    scps: tuple[tuple[NamedPolicy, ...], ...] | None = None  # root → account levels, for the principal
    rcps: tuple[tuple[NamedPolicy, ...], ...] | None = None  # root → account levels, for the key


class TrailEvidence(BaseModel):
    """What a CloudTrail record of the denied call told us (lower confidence: it was inferred)."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    event_time: str
    key_arn: str | None = None
    encryption_context: dict[str, str] | None = None
    invoked_by: str | None = None  # e.g. s3.amazonaws.com
    source_ip: str | None = None
    vpc_endpoint_id: str | None = None
    error_code: str | None = None


class Unseen(BaseModel):
    """Something the bot could not see, why, and the statement or setting that would let it see."""

    model_config = ConfigDict(frozen=True)

    what: str  # a layer name (`key_policy`, `identity`, `scp`, …) or a context key
    reason: str
    remedy: str | None = None
    remedy_statement: Json | None = None


class Snapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    principal: PrincipalFacts | None = None
    key: KeyFacts | None = None
    org: OrgFacts | None = None
    trail: TrailEvidence | None = None
    unseen: tuple[Unseen, ...] = ()
    aws_calls: int = 0
    round_trips: int = 0
    # From the AssumeRole record in CloudTrail: the session policy (several merged); None: none passed.
    session_policy: NamedPolicy | None = None
    session_policy_known: bool = False  # the AssumeRole record was read, so `session_policy` is the truth
    session_policy_merged: bool = False  # several were passed: `session_policy` is their union
    vpc_endpoint_policy: NamedPolicy | None = None  # the KMS endpoint's policy, when the call used one
