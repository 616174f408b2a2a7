"""The session policy a role session was given at AssumeRole, from CloudTrail (kms-evaluation.md §2 step 26).

AWS records no session policy anywhere but in the `AssumeRole` event's `requestParameters` (`policy`, the
inline document, and `policyArns`, managed policies of the role's account). The event is looked up by the
role ARN (`ResourceName`) in the role's account and matched on the session name. Several session policies
are merged into one document: if that union denies, their intersection (what AWS applies) denies too, so a
deny it shows is certain; an allow is not, and the answer keeps saying so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from bot.aws.cloudtrail import LOOKBACK, MAX_PAGES
from bot.aws.iam_policies import IamReader, Reads, decode_document
from bot.aws.sessions import AccountSession
from bot.aws.trace import gather
from bot.aws.unseen import identity_statement, is_aws_error, read_failed
from bot.snapshot import Json, NamedPolicy, Unseen

# Credentials last at most 12 hours (role chaining: 1); a session can be that old when it is used.
SESSION_LOOKBACK = max(LOOKBACK, timedelta(hours=12))


@dataclass(frozen=True)
class SessionPolicy:
    """`found`: the AssumeRole record was seen; `policy`: the session policy, None when none was passed."""

    found: bool
    policy: NamedPolicy | None = None
    merged: bool = False
    unseen: tuple[Unseen, ...] = ()


def _assume_record(events: list[Json], role_arn: str, session_name: str) -> Json | None:
    for event in events:
        params = event.get("requestParameters") or {}
        if event.get("eventName") != "AssumeRole" or event.get("errorCode"):
            continue
        if params.get("roleSessionName") == session_name and params.get("roleArn") in (role_arn, None):
            return event
    return None


def _events(session: AccountSession, region: str, role_arn: str, now: datetime) -> list[Json]:
    trail = session.cloudtrail(region)
    kwargs: dict[str, Any] = {
        "LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": role_arn}],
        "StartTime": now - SESSION_LOOKBACK, "EndTime": now, "MaxResults": 50,
    }
    events: list[Json] = []
    for _ in range(MAX_PAGES):
        page = trail.lookup_events(**kwargs)
        events += [json.loads(r.get("CloudTrailEvent") or "{}") for r in page.get("Events", [])]
        token = page.get("NextToken")
        if not token:
            break
        kwargs["NextToken"] = token
    return events


def _merged(parts: list[NamedPolicy], role_arn: str, session_name: str) -> NamedPolicy:
    if len(parts) == 1:
        return parts[0]
    statements: list[Json] = []
    for part in parts:
        body = part.document.get("Statement", [])
        statements += body if isinstance(body, list) else [body]
    names = ", ".join(p.arn or p.name for p in parts)
    return NamedPolicy(
        name=f"session policies of {role_arn.rsplit('/', 1)[-1]}/{session_name} ({names})",
        kind="session",
        document={"Version": "2012-10-17", "Statement": statements},
    )


def lookup_session_policy(
    session: AccountSession, executor: Executor, region: str, *, role_arn: str, session_name: str,
    now: Callable[[], datetime] | None = None,
) -> SessionPolicy:
    """The session policy passed when `role_arn` was assumed as `session_name`, from CloudTrail."""
    moment = (now or (lambda: datetime.now(UTC)))()
    try:
        record = _assume_record(_events(session, region, role_arn, moment), role_arn, session_name)
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        return SessionPolicy(found=False, unseen=(read_failed(
            "session", "LookupEvents", f"CloudTrail in {session.account} {region}", session.role_arn, exc,
            statement=identity_statement(["cloudtrail:LookupEvents"], ["*"]),
            where=f"the identity policy of {session.role_arn}"),))
    if record is None:
        return SessionPolicy(found=False, unseen=(Unseen(
            what="session",
            reason=f"CloudTrail in {session.account} {region} holds no AssumeRole record for session "
                   f"{session_name} of {role_arn} in the last {SESSION_LOOKBACK.total_seconds() / 3600:g} "
                   "hours, so its session policy (if any) is unknown"),))
    params = record.get("requestParameters") or {}
    parts: list[NamedPolicy] = []
    unseen: list[Unseen] = []
    inline = params.get("policy")
    if inline:
        try:
            parts.append(NamedPolicy(name=f"inline session policy (CloudTrail {record.get('eventID', '?')})",
                                     kind="session", document=decode_document(inline)))
        except ValueError:
            unseen.append(Unseen(what="session", reason="the AssumeRole record's inline policy is not JSON "
                                                        "(CloudTrail may have truncated it)"))
    arns = [str(item.get("arn")) for item in params.get("policyArns") or [] if isinstance(item, dict)]
    if arns:
        reader = IamReader(session, executor)
        reads = Reads().merge(*gather(executor, [partial(reader.managed, arn, "managed", "session")
                                                 for arn in arns]))
        parts += [p.model_copy(update={"kind": "session"}) for p in reads.policies]
        unseen += reads.unseen
    if unseen:
        return SessionPolicy(found=True, unseen=tuple(unseen))  # a partial session policy would mislead
    merged = _merged(parts, role_arn, session_name) if parts else None
    return SessionPolicy(found=True, policy=merged, merged=len(parts) > 1)
