"""The demo world: real AssumeRole per account on moto's server, with the seeding helpers."""

from __future__ import annotations

import pytest

from bot.demo.world import ADMINISTRATOR_ACCESS, World, default_key_policy


def test_each_account_sees_only_its_own_resources(world: World) -> None:
    world.account("111122223333").create_role("OnlyHere")
    names = [r["RoleName"] for r in world.account("444455556666").iam.list_roles()["Roles"]]
    assert "OnlyHere" not in names
    arn = world.account("111122223333").iam.get_role(RoleName="OnlyHere")["Role"]["Arn"]
    assert arn == "arn:aws:iam::111122223333:role/OnlyHere"


def test_role_with_aws_managed_policy_boundary_and_tags(world: World) -> None:
    acct = world.account("111122223333")
    boundary = acct.create_policy(
        "Boundary",
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]},
    )
    acct.create_role(
        "MyRole",
        path="/app/",
        managed_policies=[ADMINISTRATOR_ACCESS],
        boundary=boundary,
        tags={"team": "payments"},
    )
    role = acct.iam.get_role(RoleName="MyRole")["Role"]
    assert role["Arn"] == "arn:aws:iam::111122223333:role/app/MyRole"
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    attached = acct.iam.list_attached_role_policies(RoleName="MyRole")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [ADMINISTRATOR_ACCESS]


def test_key_in_the_given_region_with_policy_alias_and_grant(world: World) -> None:
    acct = world.account("444455556666")
    policy = default_key_policy("444455556666")
    key = acct.create_key(policy=policy, region="ap-northeast-1", aliases=["app"])
    assert key.startswith("arn:aws:kms:ap-northeast-1:444455556666:key/")
    assert acct.key_policy(key) == policy
    grant = acct.create_grant(key, "arn:aws:iam::111122223333:role/App", ["Decrypt"])
    grants = acct.kms("ap-northeast-1").list_grants(KeyId=key)["Grants"]
    assert [g["GrantId"] for g in grants] == [grant]
    aliases = acct.kms("ap-northeast-1").list_aliases(KeyId=key)["Aliases"]
    assert [a["AliasName"] for a in aliases] == ["alias/app"]


def test_aws_managed_key_and_disabled_key(world: World) -> None:
    acct = world.account("444455556666")
    managed = acct.create_aws_managed_key("s3")
    assert acct.kms().describe_key(KeyId=managed)["KeyMetadata"]["KeyManager"] == "AWS"
    key = acct.create_key()
    acct.disable_key(key)
    assert acct.kms().describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Disabled"


def test_organization_members_keep_their_ids_and_policies_attach(world: World) -> None:
    org = world.organization("999988887777")
    ou = org.create_ou("workloads")
    org.add_account("111122223333", ou_id=ou)
    scp = org.create_scp("DenyKms", {"Version": "2012-10-17", "Statement": []}, [ou])
    rcp = org.create_rcp("Rcp", {"Version": "2012-10-17", "Statement": []}, [org.root_id])
    orgs = org.management_account.organizations
    assert orgs.list_parents(ChildId="111122223333")["Parents"][0]["Id"] == ou
    scps = orgs.list_policies_for_target(TargetId=ou, Filter="SERVICE_CONTROL_POLICY")["Policies"]
    assert scp in [p["Id"] for p in scps]
    rcps = orgs.list_policies_for_target(TargetId=org.root_id, Filter="RESOURCE_CONTROL_POLICY")["Policies"]
    assert rcp in [p["Id"] for p in rcps]
    member_view = world.account("111122223333").organizations.describe_organization()["Organization"]
    assert member_view["MasterAccountId"] == "999988887777"


def test_reset_forgets_the_organization_and_its_members(world: World) -> None:
    world.organization("999988887777").add_account("111122223333")
    world.reset()
    member = world.account("111122223333").organizations
    with pytest.raises(member.exceptions.AWSOrganizationsNotInUseException):
        member.describe_organization()
