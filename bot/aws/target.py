"""What a denial lets the collectors read: the caller, the key, and what the paste hides or leaves out.

No AWS call here. A redacted account id (`xxxx`, `<account-id>`, `{account}`, `****`…) means nothing
is read for that side, and the answer asks for it instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.aws.keys import KeyRef, key_ref
from bot.aws.principals import Caller, classify
from bot.parse.models import Denial
from bot.snapshot import Unseen

_ARN_ACCOUNT = re.compile(r"arn:[\w-]*:(?:iam|sts|kms):[\w-]*:(?P<account>[^:]*):")
_KEY_ID = re.compile(r"(?:mrk-)?[0-9a-fA-F-]+")


def redaction(value: str | None) -> str | None:
    """The placeholder standing for an account id in an ARN or account field, or None."""
    if not value:
        return None
    match = _ARN_ACCOUNT.match(value)
    account = match["account"] if match else (value if not value.startswith("arn:") else None)
    if account is None or account == "" or re.fullmatch(r"\d{12}", account) or account == "aws":
        return None
    return account


def _redacted_key_id(key_id: str | None) -> bool:
    if not key_id or key_id.startswith(("alias/", "arn:")):
        return False
    return _KEY_ID.fullmatch(key_id) is None


@dataclass
class Target:
    caller: Caller | None = None
    ref: KeyRef | None = None
    key_redacted: bool = False
    unseen: list[Unseen] = field(default_factory=list)

    @property
    def principal_account(self) -> str | None:
        return self.caller.account if self.caller else None

    @property
    def needs_iam_reads(self) -> bool:
        return self.caller is not None and self.caller.kind in ("role", "assumed_role", "user")


def target_of(denial: Denial) -> Target:
    target = Target()
    hidden = redaction(denial.principal_arn)
    if hidden:
        target.unseen.append(
            Unseen(
                what="identity",
                reason=f"the caller's account id is redacted ({hidden!r}) in {denial.principal_arn!r}; "
                "nothing was read for it",
                remedy="paste the error with the real 12-digit account id, or say which account the "
                "caller is in",
            )
        )
    elif denial.principal_arn:
        target.caller = classify(denial.principal_arn)
    else:
        target.unseen.append(
            Unseen(
                what="identity",
                reason="the error does not name the caller (no principal ARN)",
                remedy="paste the full error, or the output of `aws sts get-caller-identity`",
            )
        )
    key_hidden = redaction(denial.resource_arn) or (
        denial.key_id if _redacted_key_id(denial.key_id) else None
    )
    if key_hidden:
        target.key_redacted = True
        target.unseen.append(
            Unseen(
                what="key_policy",
                reason=f"the key is redacted ({key_hidden!r}) in the error; nothing was read for it",
                remedy="paste the error with the real key ARN, or say which key it is",
            )
        )
    else:
        # A key id or alias name without an ARN only works in the caller's own account.
        target.ref = key_ref(denial.resource_arn, denial.key_id, target.principal_account, denial.region)
    return target
