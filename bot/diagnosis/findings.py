"""A finding: the §4 cause code chosen, the facts for its sentence, and where a patch would act (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.diagnosis.document import Built

NETWORK_KEYS = ("aws:sourceip", "aws:sourcevpce", "aws:sourcevpc", "aws:vpcsourceip")


@dataclass
class Finding:
    """A cause code, the facts for its sentence, and where a patch would act."""

    code: str
    facts: dict[str, str] = field(default_factory=dict)
    statement_index: int | None = None  # the key-policy statement at fault, if one is
    condition: tuple[str, str, str] | None = None  # (operator, key, value to add) for a condition patch
    replacing: str | None = None  # a dangling unique id (or old session ARN) to replace
    failing_layer: str | None = None


def is_cross(built: Built) -> bool:
    return bool(
        built.principal_account and built.key_account and built.principal_account != built.key_account
    )
