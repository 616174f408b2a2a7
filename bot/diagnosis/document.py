"""From a parsed denial and a collected snapshot to the engine's `SimulationDocument` (pure).

What the bot read goes in as is; what it could not read is replaced by the most permissive stand-in
that still keeps the other locks honest, and reported as unseen. Context keys the bot cannot know (the
network path, an encryption context nobody showed us) are passed as `unknown_keys` so that the engine
answers in three values instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.diagnosis.context import UNKNOWABLE_PREFIXES, VIA_KEYS, known_absent, request_context
from bot.parse.models import Denial
from bot.policy.simulation import Json, KeyFacts, Request, SimulationDocument
from bot.snapshot import NamedPolicy, Snapshot

UNKNOWN_CALLER = "unknown"
ALLOW_ALL: Json = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@dataclass
class Built:
    """The document plus what the diagnosis needs to name policies and report the unseen."""

    document: SimulationDocument
    identity_sources: list[NamedPolicy | None]  # index → where identity policy i came from
    scp_sources: list[list[NamedPolicy]]
    rcp_sources: list[list[NamedPolicy]]
    unseen_layers: list[str] = field(default_factory=list)
    principal_arn: str = ""
    role_arn: str | None = None  # the role behind a session, or the role itself
    principal_account: str | None = None
    key_arn: str = ""
    key_account: str | None = None
    region: str | None = None
    via_service: str | None = None  # the kms:ViaService value, when known to be present
    via_known: bool = False


def account_of(arn: str | None) -> str | None:
    if not arn:
        return None
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def region_of(arn: str | None) -> str | None:
    if not arn:
        return None
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and parts[3] else None


def role_arn_from_session(arn: str) -> str | None:
    """`arn:aws:sts::A:assumed-role/R/S` → `arn:aws:iam::A:role/R` (path unknown from the ARN alone)."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        segments = parts[5].split("/")
        if len(segments) >= 3:
            return f"arn:{parts[1]}:iam::{parts[4]}:role/{segments[1]}"
    if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
        return arn
    return None


def condition_keys(policy: Json | None) -> dict[str, str]:
    """Every condition key a policy tests: lower-cased name → the spelling the policy uses."""
    if not policy:
        return {}
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    keys: dict[str, str] = {}
    for statement in statements:
        if not isinstance(statement, dict):
            continue
        for block in (statement.get("Condition") or {}).values():
            if isinstance(block, dict):
                for key in block:
                    keys.setdefault(str(key).lower(), str(key))
    return keys


def _docs(named: tuple[NamedPolicy, ...]) -> list[Json]:
    return [policy.document for policy in named]


def _unseen_layers(snapshot: Snapshot) -> list[str]:
    return [item.what for item in snapshot.unseen]


def build(denial: Denial, snapshot: Snapshot) -> Built:
    principal = snapshot.principal
    key = snapshot.key
    principal_arn = (principal.arn if principal else None) or denial.principal_arn or UNKNOWN_CALLER
    role_arn = (principal.role_arn or principal.user_arn) if principal else None
    role_arn = role_arn or role_arn_from_session(principal_arn)
    principal_account = (principal.account if principal else None) or account_of(principal_arn)
    key_arn = (key.arn if key else None) or denial.resource_arn or denial.key_id or "unknown"
    key_account = (key.account if key else None) or account_of(key_arn) or denial.account
    region = (key.region if key else None) or region_of(key_arn) or denial.region
    unseen = _unseen_layers(snapshot)

    identity_sources: list[NamedPolicy | None] = []
    identity: list[Json] = []
    if principal and principal.identity_policies is not None:
        identity = _docs(principal.identity_policies)
        identity_sources = list(principal.identity_policies)
    elif principal is None or principal.kind != "root":
        identity, identity_sources = [ALLOW_ALL], [None]
        if "identity" not in unseen:
            unseen.append("identity")

    boundary: Json | None = None
    if principal and principal.permissions_boundary is not None:
        boundary = principal.permissions_boundary.document
    elif principal and principal.has_boundary and "permissions_boundary" not in unseen:
        unseen.append("permissions_boundary")

    key_policy: Json | None = key.policy if key else None
    if key_policy is None:
        # Optimistic stand-in: delegation to the caller's account, so the IAM side still has to allow.
        delegated = {acct for acct in (principal_account, key_account) if acct}
        key_policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in sorted(delegated)]},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
        if "key_policy" not in unseen:
            unseen.append("key_policy")
    grants: list[Json] = list(key.grants) if key and key.grants is not None else []
    if key is not None and key.grants is None and "grants" not in unseen:
        unseen.append("grants")

    org = snapshot.org
    scp_sources = [list(level) for level in (org.scps or ())] if org else []
    rcp_sources = [list(level) for level in (org.rcps or ())] if org else []

    context, via, via_known = request_context(
        denial, snapshot, principal_account, key_account, region, role_arn
    )
    session_policy = snapshot.session_policy.document if snapshot.session_policy else None
    endpoint_policy = snapshot.vpc_endpoint_policy.document if snapshot.vpc_endpoint_policy else None
    policies: list[Json | None] = [*identity, boundary, key_policy, session_policy, endpoint_policy]
    policies += [p.document for level in scp_sources for p in level]
    policies += [p.document for level in rcp_sources for p in level]
    referenced: dict[str, str] = {}
    for policy in policies:
        for lower, spelled in condition_keys(policy).items():
            referenced.setdefault(lower, spelled)
    for grant in grants:
        for constraint in (grant.get("Constraints") or {}).values():
            if isinstance(constraint, dict):
                for name in constraint:
                    referenced.setdefault(
                        f"kms:encryptioncontext:{name}".lower(), f"kms:EncryptionContext:{name}"
                    )
    known = {name.lower() for name in context}
    unknown: list[str] = []
    for name in sorted(set(referenced) - known):
        unknowable = name.startswith(UNKNOWABLE_PREFIXES) and not known_absent(name, snapshot)
        if unknowable or (name.startswith(VIA_KEYS) and not via_known):
            unknown.append(referenced[name])

    facts = KeyFacts(
        manager=(key.manager if key and key.manager else "CUSTOMER"),
        state=(key.state if key and key.state else "Enabled"),
    )
    document = SimulationDocument(
        request=Request(
            principal=principal_arn,
            action=denial.action or "kms:Decrypt",
            resource=key_arn,
            context=context,
            unknown_keys=tuple(unknown),
        ),
        identity_policies=identity,
        permissions_boundary=boundary,
        session_policy=session_policy,
        vpc_endpoint_policy=endpoint_policy,
        scps=[[p.document for p in level] for level in scp_sources],
        rcps=[[p.document for p in level] for level in rcp_sources],
        key_policy=key_policy,
        grants=grants,
        key=facts,
        management_account=org.management_account if org else None,
    )
    return Built(
        document=document,
        identity_sources=identity_sources,
        scp_sources=scp_sources,
        rcp_sources=rcp_sources,
        unseen_layers=unseen,
        principal_arn=principal_arn,
        role_arn=role_arn,
        principal_account=principal_account,
        key_arn=key_arn,
        key_account=key_account,
        region=region,
        via_service=via,
        via_known=via_known,
    )
