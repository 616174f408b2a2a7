"""The simulation document in and the evaluation result out (`kms-why simulate`, see interfaces.md).

This is the engine's whole public surface: the diagnosis builds a `SimulationDocument` from what it
collected and reads the `SimulationResult`. Policies stay raw JSON here; the engine compiles them
(cached by content) and reports malformed ones as `PolicyError` naming the policy and statement.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Json = dict[str, Any]
Decision = Literal["allow", "explicit_deny", "implicit_deny"]
PolicyType = Literal[
    "identity",
    "key_policy",
    "grants",
    "scp",
    "rcp",
    "permissions_boundary",
    "session",
    "vpc_endpoint",
]


class Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    principal: str
    action: str
    resource: str
    context: dict[str, Any] = Field(default_factory=dict)
    # Context keys whose value is not known (three-valued evaluation, kms-evaluation.md §2.38).
    unknown_keys: tuple[str, ...] = ()


class KeyFacts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    manager: Literal["CUSTOMER", "AWS"] = "CUSTOMER"
    state: str = "Enabled"


class SimulationDocument(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    request: Request
    identity_policies: list[Json] = Field(default_factory=list)
    permissions_boundary: Json | None = None
    session_policy: Json | None = None
    scps: list[list[Json]] = Field(default_factory=list)
    rcps: list[list[Json]] = Field(default_factory=list)
    key_policy: Json | None = None
    grants: list[Json] = Field(default_factory=list)
    vpc_endpoint_policy: Json | None = None
    key: KeyFacts = Field(default_factory=KeyFacts)
    # The organization's management account: SCPs do not restrict its principals, RCPs not its keys.
    management_account: str | None = None


class FailingCheck(BaseModel):
    model_config = ConfigDict(frozen=True)

    policy_type: PolicyType
    kind: Literal["explicit_deny", "no_allow"]
    statement: str | None = None
    policy_index: int | None = None
    level: int | None = None  # SCP/RCP level, 0 = organization root
    explain: str | None = None
    # Set for KMS overlays (policy_type key_policy): aws_managed_cross_account, aws_managed_direct_use,
    # not_cross_account_capable (kms-evaluation.md §2.35).
    reason: str | None = None


class MatchedStatement(BaseModel):
    model_config = ConfigDict(frozen=True)

    policy_type: PolicyType
    effect: Literal["Allow", "Deny"]
    policy_index: int
    statement: str  # Sid, else the 0-based index as a string
    level: int | None = None
    principal_match: Literal["direct", "role", "account", "any", "service"] | None = None


class StatementMiss(BaseModel):
    """Why a statement did not match: `element` is action, resource, principal or condition."""

    model_config = ConfigDict(frozen=True)

    policy_type: PolicyType
    policy_index: int
    statement: str
    effect: Literal["Allow", "Deny"]
    element: Literal["action", "resource", "principal", "condition"]
    operator: str | None = None
    key: str | None = None
    expected: tuple[str, ...] = ()
    actual: tuple[str, ...] | None = None  # None: the key is absent from the request
    level: int | None = None  # SCP/RCP level of the policy, 0 = organization root


class LayerResult(BaseModel):
    """One lock. `allows` is None when the layer does not apply or its answer is unknown."""

    model_config = ConfigDict(frozen=True)

    layer: PolicyType
    applies: bool
    allows: bool | None
    explicit_deny: bool = False
    matched: tuple[MatchedStatement, ...] = ()


class Unknown(BaseModel):
    """A context key the decision depends on, and the values that would make it allow."""

    model_config = ConfigDict(frozen=True)

    key: str
    allow_if: tuple[str, ...] = ()
    allow_if_absent: bool | None = None


class SimulationResult(BaseModel):
    """What `bot.policy.evaluate` returns.

    - `decision`, `failing_checks`, `matched`: the documented output (interfaces.md). `failing_checks` is in
      AWS's order: explicit denies (by layer: rcp, scp, vpc_endpoint, key_policy, identity,
      permissions_boundary, session), then rcp, scp (one per level without an Allow, `level` set),
      vpc_endpoint, key_policy, identity, permissions_boundary, session. A key_policy check with `reason`
      set is a KMS overlay (AWS managed key, operation not usable cross-account), not a missing statement.
      For the caller-side checks only those on the best path are listed (a key policy naming the session
      needs no identity Allow, so none is listed). `matched`: for an explicit deny the matching Deny
      statements; otherwise every matching Allow of every layer that applies.
    - `layers`: all eight layers in the order identity, key_policy, grants, scp, rcp,
      permissions_boundary, session, vpc_endpoint. `applies` False (and `allows` None) when the layer does
      not apply to this request (none given, or an exemption: SCPs for the management account, service-
      linked roles and service principals; RCPs for AWS managed keys and kms:RetireGrant; …). `allows`:
      some Allow matches (every level, for scp/rcp); for key_policy: it admits the caller directly or
      delegates to the caller's account; for grants: some grant admits the request. `explicit_deny`: a
      Deny of this layer matches. `matched`: the layer's matching Deny and Allow statements; key-policy
      statements and grants carry `principal_match` (direct, role, account, any, service).
    - `misses`: one entry per statement (or grant) of an applying layer that did not match, with the
      first element that failed in the order action, principal, resource; when those matched, one entry
      per failing condition (operator and key as written, `expected` the policy values, `actual` the
      request values or None when the key is absent). A principal miss has the caller in `actual`: a
      role session as its role ARN unless the policy names some session (sessions of one role match the
      same principals). Grants report grantee (principal), operation
      (action) and constraints (condition, operator EncryptionContextEquals/Subset).
    - `unknowns`, `decided_by_unknown`: see `bot.policy.evaluate` (three-valued mode for
      `request.unknown_keys`).
    - `notes`: unverified assumptions the decision rests on, and ignored inputs.
    """

    model_config = ConfigDict(frozen=True)

    decision: Decision
    failing_checks: tuple[FailingCheck, ...] = ()
    matched: tuple[MatchedStatement, ...] = ()
    # Beyond the documented output: what the diagnosis needs.
    layers: tuple[LayerResult, ...] = ()
    misses: tuple[StatementMiss, ...] = ()
    unknowns: tuple[Unknown, ...] = ()
    decided_by_unknown: bool = False
    notes: tuple[str, ...] = ()

    def layer(self, name: PolicyType) -> LayerResult | None:
        return next((layer for layer in self.layers if layer.layer == name), None)

    def public_json(self) -> dict[str, Any]:
        return self.model_dump(
            mode="json", include={"decision", "failing_checks", "matched"}, exclude_none=True
        )
