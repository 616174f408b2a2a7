"""What the parser extracts from a paste: the public shape of `kms-why parse` (see interfaces.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

DenialKind = Literal[
    "no_identity_allow",
    "no_resource_allow",
    "no_scp_allow",
    "no_rcp_allow",
    "no_boundary_allow",
    "no_session_allow",
    "no_vpce_allow",
    "explicit_deny_identity",
    "explicit_deny_resource",
    "explicit_deny_scp",
    "explicit_deny_rcp",
    "explicit_deny_boundary",
    "explicit_deny_session",
    "explicit_deny_vpce",
    "unspecified",
    "key_not_found_or_denied",
    "key_state",
    "invalid_ciphertext",
    "other",
]


class Denial(BaseModel):
    """One KMS access or key problem found in a paste. Values are verbatim; absent ones are None."""

    model_config = ConfigDict(frozen=True)

    action: str | None = None
    principal_arn: str | None = None
    resource_arn: str | None = None
    key_id: str | None = None
    region: str | None = None
    account: str | None = None
    denial_kind: DenialKind = "other"
    service_context: str | None = None
    # Beyond the public fields: what helps the diagnosis, excluded from `kms-why parse` output.
    error_code: str | None = None
    policy_arn: str | None = None
    message: str | None = None


PUBLIC_FIELDS = frozenset(
    {
        "action",
        "principal_arn",
        "resource_arn",
        "key_id",
        "region",
        "account",
        "denial_kind",
        "service_context",
    }
)


class ParseResult(BaseModel):
    """`relevant` is true when the text reports a KMS problem the bot should answer."""

    model_config = ConfigDict(frozen=True)

    relevant: bool
    denials: tuple[Denial, ...] = ()

    def public_json(self) -> dict[str, object]:
        return {
            "relevant": self.relevant,
            "denials": [d.model_dump(include=set(PUBLIC_FIELDS)) for d in self.denials],
        }
