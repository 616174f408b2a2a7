"""Finding the denied call in CloudTrail when the paste does not name the key or its context.

`LookupEvents` (management events, the caller's account, the Region of the call) for the KMS
operation, newest first; the first event by the same caller that ended in an error is taken. What it
tells (key ARN, encryption context, calling service, source IP or VPC endpoint) is evidence, not
certainty: the answer says it was inferred. CloudTrail allows about two lookups a second per account
and Region, so this runs only when the paste leaves the key or its context out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.aws.sessions import AccountSession
from bot.aws.unseen import identity_statement, is_aws_error, read_failed
from bot.snapshot import Json, TrailEvidence, Unseen

LOOKBACK = timedelta(hours=24)
_BARE_KEY_ID = re.compile(r"(?:mrk-)?[0-9a-fA-F-]+")
MAX_PAGES = 3


def _operation(action: str | None) -> str | None:
    if action and action.lower().startswith("kms:") and "*" not in action:
        return action.split(":", 1)[1]
    return None


def _same_caller(event: Json, principal_arn: str | None) -> bool:
    if not principal_arn:
        return True
    identity = event.get("userIdentity") or {}
    issuer = (identity.get("sessionContext") or {}).get("sessionIssuer") or {}
    arns = {identity.get("arn"), issuer.get("arn")}
    return principal_arn in arns


def _key_arn(event: Json) -> str | None:
    for resource in event.get("resources") or []:
        arn = resource.get("ARN") or resource.get("arn")
        if isinstance(arn, str) and ":key/" in arn:
            return arn
    key_id = (event.get("requestParameters") or {}).get("keyId")
    if isinstance(key_id, str) and key_id.startswith("arn:") and ":key/" in key_id:
        return key_id
    return None


def evidence(event: Json, event_id: str, event_time: str) -> TrailEvidence:
    """What one CloudTrail record says about the call."""
    identity = event.get("userIdentity") or {}
    params = event.get("requestParameters") or {}
    context = params.get("encryptionContext")
    source_ip = event.get("sourceIPAddress")
    invoked_by = identity.get("invokedBy")
    if invoked_by is None and isinstance(source_ip, str) and source_ip.endswith(".amazonaws.com"):
        invoked_by = source_ip  # a forward access session: the service's name stands in for an IP
    return TrailEvidence(
        event_id=event_id,
        event_time=event_time,
        key_arn=_key_arn(event),
        encryption_context={str(k): str(v) for k, v in context.items()} if isinstance(context, dict)
        else None,
        invoked_by=invoked_by,
        source_ip=None if not isinstance(source_ip, str) or source_ip.endswith(".amazonaws.com")
        else source_ip,
        vpc_endpoint_id=event.get("vpcEndpointId"),
        error_code=event.get("errorCode"),
    )


def _other_key(event: Json, key_arn: str | None) -> bool:
    """The event names a key, and not this one (an event naming none, or an alias, may be the call)."""
    if key_arn is None:
        return False
    named = _key_arn(event)
    if named is not None:
        return named != key_arn
    key_id = (event.get("requestParameters") or {}).get("keyId")
    if isinstance(key_id, str) and _BARE_KEY_ID.fullmatch(key_id):
        return not key_arn.endswith(f"/{key_id}")
    return False


def lookup_denied_call(session: AccountSession, region: str, *, action: str | None,
                       principal_arn: str | None, key_arn: str | None = None,
                       now: Callable[[], datetime] | None = None,
                       ) -> tuple[TrailEvidence | None, list[Unseen]]:
    """The newest failed call of `action` by `principal_arn` (on `key_arn`) in the last day, or None."""
    operation = _operation(action)
    end = (now or (lambda: datetime.now(UTC)))()
    attribute: Any = ({"AttributeKey": "EventName", "AttributeValue": operation} if operation
                      else {"AttributeKey": "EventSource", "AttributeValue": "kms.amazonaws.com"})
    trail = session.cloudtrail(region)
    kwargs: dict[str, Any] = {"LookupAttributes": [attribute], "StartTime": end - LOOKBACK, "EndTime": end,
                              "MaxResults": 50}
    try:
        for _ in range(MAX_PAGES):
            page = trail.lookup_events(**kwargs)
            for record in page.get("Events", []):
                event: Json = json.loads(record.get("CloudTrailEvent") or "{}")
                if event.get("eventSource") != "kms.amazonaws.com" or not event.get("errorCode"):
                    continue
                if operation and event.get("eventName") != operation:
                    continue
                if _same_caller(event, principal_arn) and not _other_key(event, key_arn):
                    when = record.get("EventTime")
                    stamp = when.isoformat() if isinstance(when, datetime) else str(event.get("eventTime"))
                    return evidence(event, str(record.get("EventId", event.get("eventID", ""))), stamp), []
            token = page.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        return None, [read_failed(
            "key_policy", "LookupEvents", f"CloudTrail in {session.account} {region}", session.role_arn, exc,
            statement=identity_statement(["cloudtrail:LookupEvents"], ["*"]),
            where=f"the identity policy of {session.role_arn}")]
    return None, []
