"""The demo's seeded multi-account world: realistic denials, each with the error text a person pastes.

All scenarios live side by side in one moto world (distinct roles and keys), so one server and one
credential cache serve them all. Accounts:

- `111122223333` app: the workloads (MyRole, jobs, uploaders);
- `444455556666` data: keys shared with the app account;
- `222233334444` sandbox: an account under an OU whose SCP locks Regions;
- `999988887777` management: the organization, with the org reader role.

The AWS managed key (`aws/s3`, §4 row 16) is modelled honestly: moto creates `alias/aws/s3` as an
ordinary key, and the world sets `KeyManager = AWS` and AWS's documented policy shape
(`kms:CallerAccount` + `kms:ViaService`) on it directly in moto's backend, since the API cannot.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.demo.world import World, WorldOrganization

Json = dict[str, Any]
APP = "111122223333"
DATA = "444455556666"
SANDBOX = "222233334444"
MANAGEMENT = "999988887777"
TOKYO = "ap-northeast-1"


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    rows: tuple[int, ...]  # the §4 rows this scenario shows (the expected `cause.catalogue` first)
    setup: Callable[[World, WorldOrganization], str]  # seeds the world, returns the pasted text


def _policy(*statements: Json) -> Json:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _key_admins(account: str) -> Json:
    return {
        "Sid": "KeyAdministrators",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:role/KeyAdmin"},
        "Action": [
            "kms:Create*",
            "kms:Describe*",
            "kms:Enable*",
            "kms:List*",
            "kms:Put*",
            "kms:Update*",
            "kms:Revoke*",
            "kms:Disable*",
            "kms:Get*",
            "kms:Delete*",
            "kms:TagResource",
            "kms:UntagResource",
            "kms:ScheduleKeyDeletion",
            "kms:CancelKeyDeletion",
        ],
        "Resource": "*",
    }


def _root(account: str, sid: str = "Enable IAM User Permissions") -> Json:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def _sdk(operation: str, message: str) -> str:
    return f"An error occurred (AccessDeniedException) when calling the {operation} operation: {message}"


def _denied(session: str, action: str, key: str, reason: str) -> str:
    return f"User: {session} is not authorized to perform: {action} on resource: {key} because {reason}"


def missing_root_delegation(world: World, org: WorldOrganization) -> str:
    app = world.account(APP)
    app.create_role("MyRole", managed_policies=["arn:aws:iam::aws:policy/AdministratorAccess"])
    key = app.create_key(_policy(_key_admins(APP)), region=TOKYO, description="payments data key")
    session = app.session_arn("MyRole", "alice")
    return _sdk(
        "Decrypt",
        _denied(session, "kms:Decrypt", key, "no resource-based policy allows the kms:Decrypt action"),
    )


def cross_account_key_policy(world: World, org: WorldOrganization) -> str:
    app, data = world.account(APP), world.account(DATA)
    key = data.create_key(_policy(_root(DATA)), region="eu-west-1", description="shared reports key")
    app.create_role(
        "ReportingJob",
        inline_policies={
            "use-reports-key": _policy(
                {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": key}
            )
        },
    )
    session = app.session_arn("ReportingJob", "nightly-etl")
    return "botocore.exceptions.ClientError: " + _sdk(
        "Decrypt",
        _denied(session, "kms:Decrypt", key, "no resource-based policy allows the kms:Decrypt action"),
    )


def cross_account_iam_side(world: World, org: WorldOrganization) -> str:
    app, data = world.account(APP), world.account(DATA)
    key = data.create_key(
        _policy(
            _root(DATA),
            {
                "Sid": "AllowAppAccountUse",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{APP}:root"},
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
            },
        ),
        description="data lake key",
    )
    app.create_role(
        "AnalyticsReader",
        inline_policies={
            "read-lake": _policy(
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:ListBucket"],
                    "Resource": ["arn:aws:s3:::example-data-lake", "arn:aws:s3:::example-data-lake/*"],
                }
            )
        },
    )
    session = app.session_arn("AnalyticsReader", "jupyter")
    return "fatal error: An error occurred (AccessDenied) when calling the GetObject operation: " + _denied(
        session, "kms:Decrypt", key, "no identity-based policy allows the kms:Decrypt action"
    )


def scp_region_lock(world: World, org: WorldOrganization) -> str:
    sandbox = world.account(SANDBOX)
    sandbox.create_role("BatchJob", managed_policies=["arn:aws:iam::aws:policy/AdministratorAccess"])
    key = sandbox.create_key(None, region="us-west-2", description="batch scratch key")
    ou = org.create_ou("Sandbox")
    org.add_account(SANDBOX, ou_id=ou, name="sandbox")
    org.create_scp(
        "DenyOutsideApprovedRegions",
        _policy(
            {
                "Sid": "DenyAllOutsideApprovedRegions",
                "Effect": "Deny",
                "NotAction": ["iam:*", "sts:*", "organizations:*"],
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", TOKYO]}},
            }
        ),
        [ou],
    )
    session = sandbox.session_arn("BatchJob", "i-0a1b2c3d4e5f")
    return _sdk(
        "GenerateDataKey",
        f"User: {session} is not authorized to perform: kms:GenerateDataKey on "
        f"resource: {key} with an explicit deny in a service control policy",
    )


def permissions_boundary(world: World, org: WorldOrganization) -> str:
    app = world.account(APP)
    boundary = app.create_policy(
        "DeveloperBoundary",
        _policy(
            {
                "Sid": "DeveloperServices",
                "Effect": "Allow",
                "Action": ["s3:*", "logs:*", "cloudwatch:*", "dynamodb:*"],
                "Resource": "*",
            }
        ),
    )
    app.create_role(
        "DevRole", managed_policies=["arn:aws:iam::aws:policy/AdministratorAccess"], boundary=boundary
    )
    key = app.create_key(None, region=TOKYO, description="dev key")
    session = app.session_arn("DevRole", "bob@example.com")
    return _sdk(
        "Decrypt",
        _denied(session, "kms:Decrypt", key, "no permissions boundary allows the kms:Decrypt action"),
    )


def via_service_condition(world: World, org: WorldOrganization) -> str:
    app = world.account(APP)
    role = app.create_role(
        "UploaderRole",
        inline_policies={
            "kms": _policy(
                {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}
            )
        },
    )
    key = app.create_key(
        _policy(
            _key_admins(APP),
            {
                "Sid": "AllowUploaderThroughS3",
                "Effect": "Allow",
                "Principal": {"AWS": role},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{TOKYO}.amazonaws.com"}},
            },
        ),
        region=TOKYO,
        description="uploads bucket key",
    )
    session = app.session_arn("UploaderRole", "cli")
    return _sdk(
        "Decrypt",
        _denied(session, "kms:Decrypt", key, "no resource-based policy allows the kms:Decrypt action"),
    )


def aws_managed_key_cross_account(world: World, org: WorldOrganization) -> str:
    app, data = world.account(APP), world.account(DATA)
    key = data.create_aws_managed_key("s3")
    app.create_role(
        "ExportReader",
        inline_policies={
            "read-exports": _policy(
                {"Effect": "Allow", "Action": ["s3:GetObject", "kms:Decrypt"], "Resource": "*"}
            )
        },
    )
    session = app.session_arn("ExportReader", "export-2024-06")
    return (
        "download failed: s3://data-exports/2024/06/report.csv.gz An error occurred (AccessDenied) when "
        "calling the GetObject operation: "
        + _denied(session, "kms:Decrypt", key, "no resource-based policy allows the kms:Decrypt action")
    )


def disabled_key(world: World, org: WorldOrganization) -> str:
    app = world.account(APP)
    app.create_role(
        "InvoiceService",
        inline_policies={
            "kms": _policy({"Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"})
        },
    )
    key = app.create_key(None, region=TOKYO, description="invoices key")
    app.disable_key(key)
    return f"An error occurred (DisabledException) when calling the Decrypt operation: {key} is disabled."


def grant_does_not_cover(world: World, org: WorldOrganization) -> str:
    app = world.account(APP)
    role = app.create_role(
        "BackupAgent", inline_policies={"s3": _policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})}
    )
    key = app.create_key(_policy(_key_admins(APP)), region=TOKYO, description="backup vault key")
    app.create_grant(key, role, ["Encrypt", "GenerateDataKey", "DescribeKey"], name="backup-writer")
    session = app.session_arn("BackupAgent", "restore-job-42")
    return _sdk(
        "Decrypt",
        _denied(session, "kms:Decrypt", key, "no resource-based policy allows the kms:Decrypt action"),
    )


def recreated_role(world: World, org: WorldOrganization) -> str:
    app = world.account(APP)
    app.create_role(
        "PipelineRole",
        inline_policies={"kms": _policy({"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "*"})},
    )
    key = app.create_key(
        _policy(
            _key_admins(APP),
            {
                "Sid": "AllowPipeline",
                "Effect": "Allow",
                "Principal": {"AWS": "AROAZ3XAMPLE7EXAMPLE1"},
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
            },
        ),
        region=TOKYO,
        description="pipeline artefacts key",
    )
    session = app.session_arn("PipelineRole", "deploy-1234")
    return _sdk(
        "Decrypt",
        _denied(session, "kms:Decrypt", key, "no resource-based policy allows the kms:Decrypt action"),
    )


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "missing-root-delegation",
        "MyRole has AdministratorAccess, but the key policy ignores IAM",
        (2,),
        missing_root_delegation,
    ),
    Scenario(
        "cross-account-key-policy",
        "A job reads a key shared from another account that never shared it",
        (3,),
        cross_account_key_policy,
    ),
    Scenario(
        "cross-account-iam-side",
        "The key trusts the account, but the role's IAM policy lacks kms",
        (4,),
        cross_account_iam_side,
    ),
    Scenario("scp-region-lock", "An SCP locks the sandbox OU to two Regions", (7,), scp_region_lock),
    Scenario("permissions-boundary", "A developer boundary without kms", (10,), permissions_boundary),
    Scenario(
        "via-service-condition",
        "The key admits the uploader only through S3; the CLI called KMS",
        (13,),
        via_service_condition,
    ),
    Scenario(
        "aws-managed-key-cross-account",
        "An S3 export encrypted with aws/s3, read from another account",
        (16,),
        aws_managed_key_cross_account,
    ),
    Scenario("disabled-key", "The key was disabled", (33,), disabled_key),
    Scenario("grant-does-not-cover", "A grant covers Encrypt, not Decrypt", (30,), grant_does_not_cover),
    Scenario(
        "recreated-role",
        "The role was deleted and recreated; the key policy shows AROA…",
        (23,),
        recreated_role,
    ),
)


def seed(world: World) -> tuple[list[tuple[Scenario, str]], str]:
    """Seed every scenario; returns (scenario, pasted text) pairs and the org reader role ARN."""
    # Independent seeding runs concurrently: most of the time is spent waiting on the emulator.
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(
            pool.map(
                lambda account: world.account(account).create_service_roles(),
                (APP, DATA, SANDBOX, MANAGEMENT),
            )
        )
        org = world.organization(MANAGEMENT)
        org_reader = org.create_org_reader_role()
        for account, name in ((APP, "app"), (DATA, "data")):
            org.add_account(account, name=name)
        pastes = list(pool.map(lambda scenario: scenario.setup(world, org), SCENARIOS))
    return list(zip(SCENARIOS, pastes, strict=True)), org_reader
