"""The caller's IAM side read with the reader role (moto, real AssumeRole) — §2 A step 2 and §2 D step 20."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.aws.principals import classify, read_principal
from bot.aws.sessions import SessionFactory
from bot.aws.trace import Trace, tracing
from bot.demo.world import ADMINISTRATOR_ACCESS, World
from tests.aws.conftest import APP
from tests.aws.faults import Faults

KMS_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}
DECRYPT = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "D", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}],
}


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(16) as executor:
        yield executor


def _read(sessions: SessionFactory, pool: ThreadPoolExecutor, arn: str) -> tuple:  # type: ignore[type-arg]
    return read_principal(sessions.reader(APP, "t"), pool, classify(arn))


def test_session_resolves_to_its_role_with_path_tags_policies_and_boundary(
    accounts: World, pool: ThreadPoolExecutor
) -> None:
    app = accounts.account(APP)
    boundary = app.create_policy("Boundary", KMS_ALL)
    mine = app.create_policy("Mine", DECRYPT)
    app.create_role(
        "App",
        path="/team/",
        managed_policies=[ADMINISTRATOR_ACCESS, mine],
        inline_policies={"extra": DECRYPT},
        boundary=boundary,
        tags={"team": "payments"},
    )
    facts, unseen = _read(
        accounts.session_factory(accounts.settings()), pool, f"arn:aws:sts::{APP}:assumed-role/App/i-0abc"
    )
    assert unseen == []
    assert facts.kind == "assumed_role"
    assert facts.role_arn == f"arn:aws:iam::{APP}:role/team/App"
    assert facts.session_name == "i-0abc"
    assert facts.unique_id.startswith("AROA")
    assert facts.tags == {"team": "payments"}
    by_name = {p.name: p for p in facts.identity_policies}
    assert set(by_name) == {"AdministratorAccess", "Mine", "role/App inline extra"}
    assert by_name["Mine"].document == DECRYPT and by_name["Mine"].kind == "managed"
    assert by_name["role/App inline extra"].kind == "inline"
    assert facts.has_boundary is True
    assert facts.permissions_boundary.document == KMS_ALL
    assert facts.permissions_boundary.arn == boundary


def test_identity_center_role_is_recognised_by_its_path(accounts: World, pool: ThreadPoolExecutor) -> None:
    app = accounts.account(APP)
    app.create_role(
        "AWSReservedSSO_Admin_0123456789abcdef",
        path="/aws-reserved/sso.amazonaws.com/",
        managed_policies=[ADMINISTRATOR_ACCESS],
    )
    facts, _ = _read(
        accounts.session_factory(accounts.settings()),
        pool,
        f"arn:aws:sts::{APP}:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com",
    )
    assert facts.is_identity_center is True
    assert facts.has_boundary is False and facts.permissions_boundary is None


def test_user_with_groups_gets_its_own_and_its_groups_policies(
    accounts: World, pool: ThreadPoolExecutor
) -> None:
    app = accounts.account(APP)
    shared = app.create_policy("Shared", KMS_ALL)
    app.create_group("devs", managed_policies=[shared], inline_policies={"g": DECRYPT})
    app.create_user("alice", groups=["devs"], inline_policies={"own": DECRYPT}, tags={"k": "v"})
    facts, unseen = _read(
        accounts.session_factory(accounts.settings()), pool, f"arn:aws:iam::{APP}:user/alice"
    )
    assert unseen == []
    assert facts.user_arn == f"arn:aws:iam::{APP}:user/alice"
    kinds = sorted((p.kind, p.name) for p in facts.identity_policies)
    assert kinds == [
        ("group_inline", "group/devs inline g"),
        ("group_managed", "Shared"),
        ("inline", "user/alice inline own"),
    ]
    assert facts.tags == {"k": "v"}


def test_missing_role_is_unseen_and_says_it_does_not_exist(accounts: World, pool: ThreadPoolExecutor) -> None:
    facts, unseen = _read(
        accounts.session_factory(accounts.settings()), pool, f"arn:aws:sts::{APP}:assumed-role/Gone/s"
    )
    assert facts.identity_policies is None
    assert [u.what for u in unseen] == ["identity"]
    assert "does not exist" in unseen[0].reason and "NoSuchEntity" in unseen[0].reason


def test_denied_policy_read_leaves_the_set_unread_with_the_statement_to_allow_it(
    accounts: World, pool: ThreadPoolExecutor, faults: Faults
) -> None:
    app = accounts.account(APP)
    mine = app.create_policy("Mine", DECRYPT)
    app.create_role("App", managed_policies=[mine])
    faults.fail("iam", "GetPolicyVersion", code="AccessDenied")
    facts, unseen = _read(
        accounts.session_factory(accounts.settings(), on_client=faults.hook),
        pool,
        f"arn:aws:iam::{APP}:role/App",
    )
    assert facts.identity_policies is None  # an incomplete set would look like "no statement allows"
    assert facts.role_arn == f"arn:aws:iam::{APP}:role/App"
    (entry,) = unseen
    assert entry.what == "identity" and "AccessDenied" in entry.reason
    assert entry.remedy_statement == {
        "Effect": "Allow",
        "Action": ["iam:GetPolicyVersion"],
        "Resource": [mine],
    }
    assert f"arn:aws:iam::{APP}:role/kms-why-reader" in entry.remedy


def test_policy_versions_are_cached_but_the_default_version_is_read_every_time(
    accounts: World, pool: ThreadPoolExecutor
) -> None:
    app = accounts.account(APP)
    mine = app.create_policy("Mine", DECRYPT)
    app.create_role("App", managed_policies=[mine])
    sessions = accounts.session_factory(accounts.settings())
    arn = f"arn:aws:iam::{APP}:role/App"
    _read(sessions, pool, arn)
    warm = Trace()
    with tracing(warm):
        facts, _ = _read(sessions, pool, arn)
    assert "iam:GetPolicyVersion" not in warm.actions and "iam:GetPolicy" in warm.actions
    assert facts.identity_policies[0].document == DECRYPT
    app.iam.create_policy_version(PolicyArn=mine, PolicyDocument=json.dumps(KMS_ALL), SetAsDefault=True)
    edited, _ = _read(sessions, pool, arn)
    assert edited.identity_policies[0].document == KMS_ALL


@pytest.mark.parametrize(
    ("arn", "kind", "policies"),
    [
        (f"arn:aws:iam::{APP}:root", "root", ()),
        ("s3.amazonaws.com", "service", ()),
        (f"arn:aws:sts::{APP}:federated-user/bob", "federated_user", None),
    ],
)
def test_callers_without_iam_entity_need_no_reads(
    world: World, pool: ThreadPoolExecutor, arn: str, kind: str, policies: tuple[()] | None
) -> None:
    trace = Trace()
    sessions = world.session_factory(world.settings())
    with tracing(trace):
        facts, unseen = read_principal(sessions.base(), pool, classify(arn))
    assert trace.calls == 0
    assert facts.kind == kind
    assert facts.identity_policies == policies
    assert bool(unseen) == (policies is None)
