"""Applying a key policy with the writer role: refuse when it changed, lockout check on, read back."""

from __future__ import annotations

from typing import Any

import pytest

from bot.aws.writer import (
    KeyPolicyChanged,
    KeyPolicyWriteFailed,
    ReadBackMismatch,
    apply_key_policy,
    read_key_policy,
)
from bot.demo.world import World, default_key_policy
from bot.policy_text import policy_sha256
from tests.aws.conftest import APP, DATA, REGION
from tests.aws.faults import Faults

BEFORE = default_key_policy(DATA)
AFTER = {
    **BEFORE,
    "Statement": [
        *BEFORE["Statement"],
        {
            "Sid": "AllowApp",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{APP}:role/App"},
            "Action": ["kms:Decrypt", "kms:DescribeKey"],
            "Resource": "*",
        },
    ],
}


def test_apply_puts_with_the_lockout_check_on_and_confirms_by_reading_back(accounts: World) -> None:
    key = accounts.account(DATA).create_key(BEFORE, region=REGION)
    sent: list[dict[str, Any]] = []

    def hook(session: Any, service: str, client: Any) -> None:
        client.meta.events.register(
            "before-parameter-build.kms.PutKeyPolicy", lambda params, **_: sent.append(dict(params))
        )

    sessions = accounts.session_factory(accounts.settings(), on_client=hook)
    assert read_key_policy(sessions, key, request_id="apply-1") == BEFORE
    applied = apply_key_policy(
        sessions, key, AFTER, expected_sha256=policy_sha256(BEFORE), request_id="apply-1"
    )
    assert applied.aws_request_id
    assert applied.policy_read_back == AFTER and accounts.account(DATA).key_policy(key) == AFTER
    assert (applied.sha256_before, applied.sha256_after) == (policy_sha256(BEFORE), policy_sha256(AFTER))
    assert sent[0]["BypassPolicyLockoutSafetyCheck"] is False and sent[0]["PolicyName"] == "default"


def test_apply_refuses_when_the_live_policy_changed_since_the_analysis(accounts: World) -> None:
    key = accounts.account(DATA).create_key(BEFORE, region=REGION)
    edited = {**BEFORE, "Id": "edited-by-someone"}
    accounts.account(DATA).put_key_policy(key, edited)
    with pytest.raises(KeyPolicyChanged) as raised:
        apply_key_policy(
            accounts.session_factory(accounts.settings()),
            key,
            AFTER,
            expected_sha256=policy_sha256(BEFORE),
            request_id="r",
        )
    assert raised.value.live_sha256 == policy_sha256(edited)
    assert "changed since the analysis" in str(raised.value)
    assert accounts.account(DATA).key_policy(key) == edited


def test_same_policy_in_other_whitespace_and_key_order_is_not_a_change(accounts: World) -> None:
    reordered = {"Statement": BEFORE["Statement"], "Id": BEFORE["Id"], "Version": BEFORE["Version"]}
    key = accounts.account(DATA).create_key(reordered, region=REGION)
    applied = apply_key_policy(
        accounts.session_factory(accounts.settings()),
        key,
        AFTER,
        expected_sha256=policy_sha256(BEFORE),
        request_id="r",
    )
    assert applied.policy_read_back == AFTER


def test_lockout_refusal_and_denied_writer_are_typed_errors(accounts: World, faults: Faults) -> None:
    key = accounts.account(DATA).create_key(BEFORE, region=REGION)
    faults.fail(
        "kms",
        "PutKeyPolicy",
        code="MalformedPolicyDocumentException",
        message="The new key policy will not allow you to update the key policy in the future.",
    )
    with pytest.raises(KeyPolicyWriteFailed) as raised:
        apply_key_policy(
            accounts.session_factory(accounts.settings(), on_client=faults.hook),
            key,
            AFTER,
            expected_sha256=policy_sha256(BEFORE),
            request_id="r",
        )
    assert raised.value.step == "PutKeyPolicy" and raised.value.code == "MalformedPolicyDocumentException"
    denied = Faults()
    denied.fail("sts", "AssumeRole", code="AccessDenied")
    with pytest.raises(KeyPolicyWriteFailed) as assume:
        apply_key_policy(
            accounts.session_factory(accounts.settings(), on_client=denied.hook),
            key,
            AFTER,
            expected_sha256=policy_sha256(BEFORE),
            request_id="r",
        )
    assert assume.value.code == "AccessDenied" and "kms-why-writer" in assume.value.step
    assert accounts.account(DATA).key_policy(key) == BEFORE


def test_a_read_back_that_differs_is_reported(accounts: World) -> None:
    key = accounts.account(DATA).create_key(BEFORE, region=REGION)
    reads = [0]

    def tamper(parsed: dict[str, Any], **_: Any) -> None:
        reads[0] += 1
        if reads[0] == 2:  # the read after the put
            parsed["Policy"] = '{"Version": "2012-10-17", "Statement": []}'

    def hook(session: Any, service: str, client: Any) -> None:
        client.meta.events.register("after-call.kms.GetKeyPolicy", tamper)

    with pytest.raises(ReadBackMismatch):
        apply_key_policy(
            accounts.session_factory(accounts.settings(), on_client=hook),
            key,
            AFTER,
            expected_sha256=policy_sha256(BEFORE),
            request_id="r",
        )


def test_not_a_key_arn_is_refused_before_any_call(world: World) -> None:
    with pytest.raises(ValueError):
        apply_key_policy(
            world.session_factory(world.settings()),
            f"arn:aws:kms:{REGION}:{DATA}:alias/x",
            AFTER,
            expected_sha256="0" * 64,
            request_id="r",
        )
