"""WriterKeyPolicies against moto's server: the writer role in the key's account reads and puts."""

from __future__ import annotations

import pytest

from bot.apply import StalePolicy
from bot.demo.world import World, default_key_policy
from bot.key_policies import WriterKeyPolicies
from bot.policy_text import policy_sha256
from bot.settings import Settings

PROD = "111122223333"


def test_put_reads_compares_applies_and_reads_back(world: World) -> None:
    prod = world.account(PROD)
    prod.create_service_roles()
    before = default_key_policy(PROD)
    key = prod.create_key(before, region="ap-northeast-1")
    keys = WriterKeyPolicies(world.session_factory(Settings.model_validate(world.environ())))
    assert keys.read(key, request_id="r1") == before
    after = {
        **before,
        "Statement": [
            *before["Statement"],
            {
                "Sid": "Add",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{PROD}:root"},
                "Action": "kms:Decrypt",
                "Resource": "*",
            },
        ],
    }
    result = keys.put(key, after, expected_sha256=policy_sha256(before), request_id="r1")
    assert result.policy_read_back == after
    assert prod.key_policy(key) == after
    assert result.aws_request_id


def test_put_refuses_when_the_live_policy_is_not_the_expected_one(world: World) -> None:
    prod = world.account(PROD)
    prod.create_service_roles()
    key = prod.create_key(region="ap-northeast-1")
    keys = WriterKeyPolicies(world.session_factory(Settings.model_validate(world.environ())))
    with pytest.raises(StalePolicy):
        keys.put(key, {"Version": "2012-10-17", "Statement": []}, expected_sha256="0" * 64, request_id="r")
    assert prod.key_policy(key) == default_key_policy(PROD)
