"""Hand-built snapshots for the diagnosis tests: what the collectors would have read."""

from __future__ import annotations

from typing import Any, Literal

from bot.parse.models import Denial, DenialKind
from bot.snapshot import KeyFacts, NamedPolicy, OrgFacts, PrincipalFacts, Snapshot, TrailEvidence, Unseen

Json = dict[str, Any]
APP = "111122223333"
DATA = "444455556666"
TOKYO = "ap-northeast-1"
ADMIN = NamedPolicy(
    name="AdministratorAccess",
    arn="arn:aws:iam::aws:policy/AdministratorAccess",
    kind="managed",
    document={"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
)


def policy(*statements: Json) -> Json:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> Json:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def inline(name: str, *statements: Json) -> NamedPolicy:
    return NamedPolicy(name=f"role inline {name}", kind="inline", document=policy(*statements))


def root(account: str, sid: str = "EnableIAMUserPermissions") -> Json:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def admins(account: str = APP) -> Json:
    return {
        "Sid": "KeyAdministrators",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:role/KeyAdmin"},
        "Action": ["kms:Put*", "kms:Get*", "kms:Describe*", "kms:ScheduleKeyDeletion"],
        "Resource": "*",
    }


def names(role_arn: str | list[str], actions: str | list[str], sid: str = "AllowRole", **extra: Any) -> Json:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": role_arn},
        "Action": actions,
        "Resource": "*",
        **extra,
    }


def role_arn(role: str = "MyRole", account: str = APP) -> str:
    return f"arn:aws:iam::{account}:role/{role}"


def session_arn(role: str = "MyRole", account: str = APP, session: str = "alice") -> str:
    return f"arn:aws:sts::{account}:assumed-role/{role}/{session}"


def key_arn(
    account: str = APP, region: str = TOKYO, key_id: str = "1234abcd-12ab-34cd-56ef-1234567890ab"
) -> str:
    return f"arn:aws:kms:{region}:{account}:key/{key_id}"


def principal(
    role: str = "MyRole",
    account: str = APP,
    policies: tuple[NamedPolicy, ...] | None = (ADMIN,),
    boundary: NamedPolicy | None = None,
    session: str = "alice",
) -> PrincipalFacts:
    return PrincipalFacts(
        arn=session_arn(role, account, session),
        kind="assumed_role",
        account=account,
        role_arn=role_arn(role, account),
        unique_id="AROAEXAMPLEUNIQUE01",
        session_name=session,
        identity_policies=policies,
        permissions_boundary=boundary,
        has_boundary=boundary is not None,
    )


def key(
    key_policy: Json | None,
    account: str = APP,
    region: str = TOKYO,
    grants: tuple[Json, ...] | None = (),
    manager: Literal["CUSTOMER", "AWS"] = "CUSTOMER",
    state: str = "Enabled",
) -> KeyFacts:
    arn = key_arn(account, region)
    return KeyFacts(
        arn=arn,
        key_id=arn.rsplit("/", 1)[1],
        account=account,
        region=region,
        manager=manager,
        state=state,
        policy=key_policy,
        grants=grants,
    )


def denial(
    action: str = "kms:Decrypt",
    *,
    principal_arn: str | None = None,
    resource: str | None = None,
    kind: DenialKind = "no_resource_allow",
    service: str | None = "kms",
    error_code: str | None = None,
    region: str | None = None,
) -> Denial:
    principal_arn = principal_arn if principal_arn is not None else session_arn()
    resource = resource if resource is not None else key_arn()
    return Denial(
        action=action,
        principal_arn=principal_arn,
        resource_arn=resource,
        key_id=resource.rsplit("/", 1)[-1] if resource else None,
        region=region or (resource.split(":")[3] if resource else None),
        account=resource.split(":")[4] if resource else None,
        denial_kind=kind,
        service_context=service,
        error_code=error_code,
    )


def snapshot(
    p: PrincipalFacts | None,
    k: KeyFacts | None,
    *,
    org: OrgFacts | None = None,
    trail: TrailEvidence | None = None,
    unseen: tuple[Unseen, ...] = (),
) -> Snapshot:
    return Snapshot(principal=p, key=k, org=org, trail=trail, unseen=unseen, aws_calls=7, round_trips=3)
