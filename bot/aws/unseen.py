"""Turning a failed read into an `Unseen`: what could not be seen, why, and what would let us see it."""

from __future__ import annotations

from collections.abc import Iterable

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.actions import READER_ACTIONS
from bot.snapshot import Json, Unseen

DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                          "AuthorizationError"})
KMS_READ_ACTIONS = tuple(sorted(a for a in READER_ACTIONS if a.startswith("kms:")))


def distinct(entries: Iterable[Unseen]) -> list[Unseen]:
    """Entries without repeats, in order (an Unseen holds a dict, so it cannot be hashed)."""
    seen: dict[str, Unseen] = {}
    for entry in entries:
        seen.setdefault(entry.model_dump_json(), entry)
    return list(seen.values())


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "Unknown"))
    return type(exc).__name__


MESSAGE_LIMIT = 300


def error_message(exc: BaseException) -> str:
    """AWS's message, on one line and at most MESSAGE_LIMIT characters: it is quoted in an answer, and a
    failure that is not AWS's (a proxy's HTML error page, say) can carry a whole document."""
    if isinstance(exc, ClientError):
        text = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
    else:
        text = str(exc)
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1].rstrip() + "…"


def is_denied(exc: BaseException) -> bool:
    return error_code(exc) in DENIED_CODES


def is_aws_error(exc: BaseException) -> bool:
    """Errors a read may end in that become an `Unseen`; anything else is a bug and propagates."""
    return isinstance(exc, ClientError | BotoCoreError)


def identity_statement(actions: Iterable[str], resources: Iterable[str]) -> Json:
    """The statement to add to the reader role's own policy."""
    return {
        "Effect": "Allow",
        "Action": sorted(set(actions)),
        "Resource": sorted(set(resources)),
    }


def key_policy_statement(reader_role_arn: str) -> Json:
    """The key-policy statement that lets the reader role read the key without using it."""
    return {
        "Sid": "AllowKmsWhyReaderToReadThisKey",
        "Effect": "Allow",
        "Principal": {"AWS": reader_role_arn},
        "Action": list(KMS_READ_ACTIONS),
        "Resource": "*",
    }


def read_failed(what: str, call: str, target: str, role_arn: str, exc: BaseException,
                *, statement: Json | None, where: str) -> Unseen:
    """An Unseen for one failed read. `where` names the policy that `statement` belongs in."""
    code = error_code(exc)
    reason = f"{call} on {target} as {role_arn} failed: {code}: {error_message(exc)}".rstrip(".") + "."
    if is_denied(exc) and statement is not None:
        return Unseen(what=what, reason=reason, remedy=f"Add this statement to {where}.",
                      remedy_statement=statement)
    return Unseen(what=what, reason=reason)
