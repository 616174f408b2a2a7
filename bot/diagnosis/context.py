"""The request context the diagnosis can vouch for, and the keys it must leave unknown (pure).

From the paste (the service that wrapped the error gives `kms:ViaService`), the collected principal and
key (tags, aliases, key spec) and a CloudTrail record when there is one (encryption context, network
path). Everything else a policy might test is unknown, and the engine answers in three values.
"""

from __future__ import annotations

from typing import Any

from bot.parse.models import Denial
from bot.snapshot import Snapshot

# Context keys that only the request itself carries: unknown unless CloudTrail or the paste told us.
UNKNOWABLE_PREFIXES = (
    "kms:encryptioncontext:",
    "kms:encryptioncontextkeys",
    "kms:encryptionalgorithm",
    "kms:requestalias",
    "kms:grantisforawsresource",
    "kms:granteeprincipal",
    "kms:grantoperations",
    "kms:retiringprincipal",
    "kms:recipientattestation",
    "aws:sourcevpce",
    "aws:sourcevpc",
    "aws:sourceip",
    "aws:vpcsourceip",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:resourceorgid",
    "aws:resourceorgpaths",
    "aws:multifactorauth",
    "aws:tokenissuetime",
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceorgid",
    "aws:principalservicename",
    "aws:requesttag/",
    "aws:tagkeys",
)
VIA_KEYS = (
    "kms:viaservice",
    "aws:viaawsservice",
    "aws:calledvia",
    "aws:calledviafirst",
    "aws:calledvialast",
)


def known_absent(name: str, snapshot: Snapshot) -> bool:
    """A CloudTrail record tells us the whole encryption context and the network path of the call."""
    trail = snapshot.trail
    if trail is None:
        return False
    if name.startswith(("kms:encryptioncontext:", "kms:encryptioncontextkeys")):
        return trail.encryption_context is not None
    if name.startswith(("aws:sourcevpce", "aws:sourcevpc", "aws:sourceip", "aws:vpcsourceip")):
        return trail.source_ip is not None or trail.vpc_endpoint_id is not None
    return False


def via_service_of(denial: Denial, snapshot: Snapshot, region: str | None) -> tuple[str | None, bool]:
    """(kms:ViaService value or None, whether we know it): from the paste first, then CloudTrail."""
    service = denial.service_context
    if service and service != "kms":
        return f"{service}.{region or 'us-east-1'}.amazonaws.com", True
    if service == "kms":
        return None, True
    trail = snapshot.trail
    if trail is not None:
        if trail.invoked_by and trail.invoked_by.endswith(".amazonaws.com"):
            name = trail.invoked_by.removesuffix(".amazonaws.com")
            return f"{name}.{region or 'us-east-1'}.amazonaws.com", True
        return None, True
    return None, False


def request_context(
    denial: Denial,
    snapshot: Snapshot,
    principal_account: str | None,
    key_account: str | None,
    region: str | None,
    role_arn: str | None,
) -> tuple[dict[str, Any], str | None, bool]:
    context: dict[str, Any] = {}
    principal = snapshot.principal
    if role_arn:
        context["aws:PrincipalArn"] = role_arn
    if principal_account:
        context["aws:PrincipalAccount"] = principal_account
        context["kms:CallerAccount"] = principal_account
    if key_account:
        context["aws:ResourceAccount"] = key_account
    if region:
        context["aws:RequestedRegion"] = region
    context["aws:SecureTransport"] = "true"
    if principal is not None:
        context["aws:PrincipalIsAWSService"] = "false"
        for tag, value in principal.tags.items():
            context[f"aws:PrincipalTag/{tag}"] = value
        if principal.unique_id:
            suffix = f":{principal.session_name}" if principal.session_name else ""
            context["aws:userid"] = principal.unique_id + suffix
    key = snapshot.key
    if key is not None:
        for tag, value in key.tags.items():
            context[f"aws:ResourceTag/{tag}"] = value
        if key.aliases:
            context["kms:ResourceAliases"] = list(key.aliases)
        for name, fact in (
            ("kms:KeySpec", key.key_spec),
            ("kms:KeyUsage", key.key_usage),
            ("kms:KeyOrigin", key.origin),
        ):
            if fact:
                context[name] = fact
        if key.multi_region is not None:
            context["kms:MultiRegion"] = "true" if key.multi_region else "false"
    via, via_known = via_service_of(denial, snapshot, region)
    if via:
        context["kms:ViaService"] = via
        context["aws:ViaAWSService"] = "true"
        context["aws:CalledVia"] = [via.split(".")[0] + ".amazonaws.com"]
    elif via_known:
        context["aws:ViaAWSService"] = "false"
    trail = snapshot.trail
    if trail is not None:
        if trail.encryption_context is not None:
            for name, value in trail.encryption_context.items():
                context[f"kms:EncryptionContext:{name}"] = value
            context["kms:EncryptionContextKeys"] = list(trail.encryption_context)
        if trail.vpc_endpoint_id:
            context["aws:SourceVpce"] = trail.vpc_endpoint_id
        elif trail.source_ip and not via:
            context["aws:SourceIp"] = trail.source_ip
    return context, via, via_known
