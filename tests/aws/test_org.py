"""SCPs along the caller's path and RCPs along the key's, on moto's Organizations — §2 D steps 23–24."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.aws.org import read_org
from bot.aws.sessions import AccountSession
from bot.aws.trace import Trace, tracing
from bot.demo.world import World, WorldOrganization
from bot.snapshot import NamedPolicy
from tests.aws.conftest import APP, DATA, MGMT
from tests.aws.faults import Faults

DENY_KMS = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "NoKms", "Effect": "Deny", "Action": "kms:*", "Resource": "*"}],
}
RCP = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "OrgOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "kms:*",
            "Resource": "*",
            "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-example"}},
        }
    ],
}


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(16) as executor:
        yield executor


@pytest.fixture
def org(world: World) -> WorldOrganization:
    """Root → Workloads → Payments → APP; DATA directly under the root."""
    org = world.organization(MGMT)
    org.create_org_reader_role()
    workloads = org.create_ou("Workloads")
    payments = org.create_ou("Payments", workloads)
    org.add_account(APP, ou_id=payments)
    org.add_account(DATA)
    org.create_scp("DenyKms", DENY_KMS, [workloads])
    org.create_rcp("OrgOnly", RCP, [DATA])
    return org


def _session(world: World, faults: Faults | None = None) -> AccountSession:
    settings = world.settings(org_role_arn=f"arn:aws:iam::{MGMT}:role/kms-why-org-reader")
    options = {"on_client": faults.hook} if faults else {}
    session = world.session_factory(settings, **options).org_reader("t")
    assert session is not None
    return session


def _names(levels: tuple[tuple[NamedPolicy, ...], ...] | None) -> list[list[str]]:
    assert levels is not None
    return [[p.name for p in level] for level in levels]


def test_scps_from_root_to_the_callers_account_and_rcps_to_the_keys(
    org: WorldOrganization, pool: ThreadPoolExecutor
) -> None:
    facts, unseen = read_org(_session(org.world), pool, principal_account=APP, key_account=DATA)
    assert unseen == []
    assert facts.management_account == MGMT
    assert _names(facts.scps) == [
        ["FullAWSAccess"],
        ["FullAWSAccess", "DenyKms"],
        ["FullAWSAccess"],
        ["FullAWSAccess"],
    ]
    assert facts.scps is not None and facts.rcps is not None
    assert facts.scps[1][1].document == DENY_KMS and facts.scps[1][1].kind == "scp"
    assert _names(facts.rcps) == [["RCPFullAWSAccess"], ["RCPFullAWSAccess", "OrgOnly"]]
    assert facts.rcps[1][1].kind == "rcp"


def test_round_trips_cold_and_warm(org: WorldOrganization, pool: ThreadPoolExecutor) -> None:
    session = _session(org.world)
    cold = Trace()
    with tracing(cold):
        read_org(session, pool, principal_account=DATA, key_account=DATA)
    # ListParents and ListRoots, then the levels, then DescribePolicy (2 when a concurrent level already
    # cached the AWS managed policy both levels carry)
    assert 2 <= cold.round_trips <= 3
    warm = Trace()
    with tracing(warm):
        facts, _ = read_org(session, pool, principal_account=DATA, key_account=DATA)
    assert "organizations:ListParents" not in warm.actions  # the path is cached for a while
    assert warm.round_trips == 2  # ListPoliciesForTarget, then DescribePolicy for the customer policy
    assert _names(facts.rcps) == [["RCPFullAWSAccess"], ["RCPFullAWSAccess", "OrgOnly"]]


def test_policies_are_read_again_though_the_path_is_cached(
    org: WorldOrganization, pool: ThreadPoolExecutor
) -> None:
    session = _session(org.world)
    read_org(session, pool, principal_account=APP, key_account=None)
    org.create_scp("Later", DENY_KMS, [APP])
    facts, _ = read_org(session, pool, principal_account=APP, key_account=None)
    assert _names(facts.scps)[-1] == ["FullAWSAccess", "Later"]


def test_account_outside_the_organization_is_unseen(org: WorldOrganization, pool: ThreadPoolExecutor) -> None:
    facts, unseen = read_org(_session(org.world), pool, principal_account="777788889999", key_account=DATA)
    assert facts.scps is None and facts.rcps is not None
    (entry,) = unseen
    assert entry.what == "scp" and "777788889999 is not in the organization" in entry.reason


def test_no_organization_means_no_scp_or_rcp_applies(world: World, pool: ThreadPoolExecutor) -> None:
    world.account(MGMT).create_role("kms-why-org-reader")
    facts, unseen = read_org(_session(world), pool, principal_account=APP, key_account=DATA)
    assert (facts.scps, facts.rcps, unseen) == ((), (), [])


def test_denied_policy_read_is_unseen_with_the_statement_for_the_org_role(
    org: WorldOrganization, pool: ThreadPoolExecutor, faults: Faults
) -> None:
    faults.fail("organizations", "DescribePolicy", code="AccessDeniedException")
    facts, unseen = read_org(_session(org.world, faults), pool, principal_account=APP, key_account=None)
    assert facts.scps is None
    (entry,) = unseen
    assert entry.what == "scp"
    assert entry.remedy_statement == {
        "Effect": "Allow",
        "Action": ["organizations:DescribePolicy"],
        "Resource": ["*"],
    }
