"""Every demo scenario end to end: moto's server, several accounts, real AssumeRole, the real collectors.

The pasted text goes through `analyse` (parse → collect → diagnose) exactly as the worker runs it.
Where a key-policy patch is proposed, it is applied to the emulator and the same paste analysed again:
the denial must be gone.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.analysis import analyse
from bot.demo.scenarios import SCENARIOS, Scenario, seed
from bot.demo.world import World
from bot.diagnosis.models import Diagnosis
from bot.policy_text import policy_sha256
from bot.settings import Settings

LAYERS = {
    "identity",
    "key_policy",
    "grants",
    "scp",
    "rcp",
    "permissions_boundary",
    "session",
    "vpc_endpoint",
    "key_state",
}


class Seeded:
    def __init__(self, world: World) -> None:
        world.reset()
        self.world = world
        pairs, org_reader = seed(world)
        self.pastes = {scenario.name: paste for scenario, paste in pairs}
        self.settings = Settings.model_validate(
            {"KMS_WHY_ORG_ROLE_ARN": org_reader, "AWS_DEFAULT_REGION": "us-east-1"}
        )
        self.sessions = world.session_factory(self.settings)

    def analyse(self, name: str) -> list[Diagnosis]:
        return analyse(self.pastes[name], self.settings, request_id=f"test-{name}", sessions=self.sessions)


@pytest.fixture(scope="module")
def seeded(moto_world: World) -> Iterator[Seeded]:
    yield Seeded(moto_world)


def _contract(d: Diagnosis) -> None:
    data = d.public_json()
    assert {"denial", "verdict", "cause", "locks", "unseen", "fixes", "aws_calls", "round_trips"} <= set(data)
    layers = [lock["layer"] for lock in data["locks"]]
    assert {"identity", "key_policy"} <= set(layers) and set(layers) <= LAYERS
    for lock in data["locks"]:
        if lock["allows"] is None:
            assert lock["layer"] in data["unseen"]
    if data["cause"]["code"] == "evidence_disagrees":
        assert data["verdict"] == "allow" and data["unseen"]
    assert d.aws_calls > 0 and d.round_trips > 0


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_each_scenario_gets_its_catalogue_row(seeded: Seeded, scenario: Scenario) -> None:
    [diagnosis] = seeded.analyse(scenario.name)
    assert diagnosis.cause.catalogue == scenario.rows[0], diagnosis.cause
    _contract(diagnosis)


def test_scenario_1_is_my_role_with_admin_and_no_root_delegation(seeded: Seeded) -> None:
    [d] = seeded.analyse("missing-root-delegation")
    assert d.denial.principal_arn == "arn:aws:sts::111122223333:assumed-role/MyRole/alice"
    assert d.denial.region == "ap-northeast-1" and d.denial.action == "kms:Decrypt"
    assert d.verdict == "implicit_deny"
    locks = {lock.layer: lock for lock in d.locks}
    assert locks["identity"].allows is True
    assert locks["identity"].policy == "arn:aws:iam::aws:policy/AdministratorAccess"
    assert locks["key_policy"].allows is False


@pytest.mark.parametrize(
    "name",
    [
        "missing-root-delegation",
        "cross-account-key-policy",
        "via-service-condition",
        "grant-does-not-cover",
        "recreated-role",
    ],
)
def test_applying_the_proven_patch_lifts_the_denial(seeded: Seeded, name: str) -> None:
    [d] = seeded.analyse(name)
    patch = next(fix for fix in d.fixes if fix.kind == "key_policy_patch")
    assert patch.verified and patch.key_arn and patch.policy_after and patch.diff
    account = seeded.world.account(patch.key_arn.split(":")[4])
    before = account.key_policy(patch.key_arn)
    assert policy_sha256(before) == patch.policy_sha256_before
    account.put_key_policy(patch.key_arn, patch.policy_after)
    try:
        [after] = seeded.analyse(name)
        assert next(lock for lock in after.locks if lock.layer == "key_policy").allows is True
        assert after.verdict == "allow" and after.cause.code == "evidence_disagrees"
    finally:
        account.put_key_policy(patch.key_arn, before)


def test_cross_account_answers_name_both_accounts(seeded: Seeded) -> None:
    for name in ("cross-account-key-policy", "cross-account-iam-side", "aws-managed-key-cross-account"):
        [d] = seeded.analyse(name)
        assert d.cross_account and (d.principal_account, d.key_account) == ("111122223333", "444455556666")
        assert "Cross-account" in d.cause.summary


def test_aws_managed_key_is_never_patched(seeded: Seeded) -> None:
    [d] = seeded.analyse("aws-managed-key-cross-account")
    assert d.key_manager == "AWS"
    assert [fix.kind for fix in d.fixes] == ["reencrypt"]


def test_scp_deny_names_the_scp_and_its_statement(seeded: Seeded) -> None:
    [d] = seeded.analyse("scp-region-lock")
    scp = next(lock for lock in d.locks if lock.layer == "scp")
    assert scp.allows is False and scp.statement == "DenyAllOutsideApprovedRegions"
    assert scp.policy and "service_control_policy/p-" in scp.policy
    assert d.verdict == "explicit_deny" and [fix.kind for fix in d.fixes] == ["org_policy_change"]


def test_disabled_key_is_a_key_state_lock(seeded: Seeded) -> None:
    [d] = seeded.analyse("disabled-key")
    assert next(lock for lock in d.locks if lock.layer == "key_state").allows is False
    assert "key_policy_patch" not in [fix.kind for fix in d.fixes]
