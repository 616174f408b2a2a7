"""What one recogniser reports before the parser merges it with the wrapper around it."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.parse.models import DenialKind


@dataclass
class Finding:
    """A KMS problem stated at `start:end` of the normalised text. Fields are verbatim or None."""

    start: int
    end: int
    denial_kind: DenialKind
    action: str | None = None
    principal_arn: str | None = None
    resource_arn: str | None = None
    key_id: str | None = None
    service_context: str | None = None
    error_code: str | None = None
    policy_arn: str | None = None
    # ARNs the message itself names besides the principal and resource (a log group, a secret, a key).
    other_arns: list[str] = field(default_factory=list)
    # An IAM sentence is the most precise statement; service phrases around it only add context.
    sentence: bool = False
