"""An IAM user's group policies: read ahead for the groups the user was in last time, so a warm analysis
takes two round trips, and never answered from that guess (membership changes are seen at once)."""

from __future__ import annotations

from bot.aws.collect import collect
from bot.demo.world import World, default_key_policy
from bot.parse.models import Denial
from tests.aws.conftest import APP, REGION

KMS_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}
S3_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


def _names(snapshot: object) -> set[str]:
    principal = getattr(snapshot, "principal", None)
    assert principal is not None and principal.identity_policies is not None
    return {p.name for p in principal.identity_policies}


def test_warm_user_with_groups_takes_two_round_trips_and_sees_the_same(accounts: World) -> None:
    app = accounts.account(APP)
    managed = app.create_policy("GroupKms", KMS_ALL)
    app.create_group("devs", managed_policies=[managed], inline_policies={"g": S3_ALL})
    app.create_user("alice", groups=["devs"])
    key = app.create_key(default_key_policy(APP), region=REGION)
    denial = Denial(action="kms:Decrypt", principal_arn=f"arn:aws:iam::{APP}:user/alice", resource_arn=key)
    settings = accounts.settings()
    sessions = accounts.session_factory(settings)
    cold = collect(denial, settings, request_id="r1", sessions=sessions)
    warm = collect(denial, settings, request_id="r2", sessions=sessions)
    assert _names(cold) == {"GroupKms", "group/devs inline g"}
    assert warm.round_trips <= 2 < cold.round_trips
    assert warm.model_dump(exclude={"aws_calls", "round_trips"}) == cold.model_dump(
        exclude={"aws_calls", "round_trips"})


def test_membership_changes_are_seen_at_once(accounts: World) -> None:
    app = accounts.account(APP)
    app.create_group("devs", inline_policies={"d": KMS_ALL})
    app.create_group("ops", inline_policies={"o": S3_ALL})
    app.create_user("bob", groups=["devs"])
    key = app.create_key(default_key_policy(APP), region=REGION)
    denial = Denial(action="kms:Decrypt", principal_arn=f"arn:aws:iam::{APP}:user/bob", resource_arn=key)
    settings = accounts.settings()
    sessions = accounts.session_factory(settings)
    assert _names(collect(denial, settings, request_id="r1", sessions=sessions)) == {"group/devs inline d"}
    app.iam.remove_user_from_group(GroupName="devs", UserName="bob")
    app.iam.add_user_to_group(GroupName="ops", UserName="bob")
    after = collect(denial, settings, request_id="r2", sessions=sessions)
    assert _names(after) == {"group/ops inline o"}
    assert after.unseen == ()
