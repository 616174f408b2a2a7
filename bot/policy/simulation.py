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
