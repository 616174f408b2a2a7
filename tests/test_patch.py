"""Key-policy patches: only ever add, unique Sids, proven by re-evaluation, nobody else gains access."""

from __future__ import annotations

import json

import pytest

from bot.diagnosis.diagnose import diagnose
from bot.patch import (
    Refusal,
    add_statement,
    extend_condition,
    extend_principals,
    propose,
    role_statement,
    root_statement,
    unified_diff,
)
from bot.policy.evaluate import evaluate
from bot.policy.simulation import Request, SimulationDocument
from bot.policy_text import policy_sha256
from tests.diagnosis.builders import (
    ADMIN,
    APP,
    admins,
    denial,
    key,
    names,
    policy,
    principal,
    role_arn,
    session_arn,
)
from tests.diagnosis.builders import key_arn as make_key_arn
from tests.diagnosis.builders import snapshot as make_snapshot

KEY = make_key_arn()
BEFORE = policy(admins(), names(role_arn("Reporter"), "kms:Encrypt", sid="Reporter"))


def _document(key_policy: dict[str, object]) -> SimulationDocument:
    return SimulationDocument(
        request=Request(
            principal=session_arn(),
            action="kms:Decrypt",
            resource=KEY,
            context={"aws:PrincipalArn": role_arn()},
        ),
        identity_policies=[ADMIN.document],
        key_policy=key_policy,
    )


def _kept_in_order(before: dict[str, object], after: dict[str, object]) -> bool:
    old, new = before["Statement"], after["Statement"]
    assert isinstance(old, list) and isinstance(new, list)
    return [s.get("Sid") for s in new[: len(old)]] == [s.get("Sid") for s in old]


def test_changes_never_remove_or_reorder_statements() -> None:
    statement = role_statement(BEFORE, role_arn(), ["kms:Decrypt"])
    for after in (
        add_statement(BEFORE, statement),
        add_statement(BEFORE, root_statement(BEFORE, APP)),
        extend_principals(BEFORE, 1, role_arn()),
        extend_condition(BEFORE, 1, "StringEquals", "kms:ViaService", "s3.x.amazonaws.com"),
    ):
        assert _kept_in_order(BEFORE, after)
        assert len(after["Statement"]) >= len(BEFORE["Statement"])
    assert BEFORE["Statement"][1]["Principal"] == {"AWS": role_arn("Reporter")}  # input untouched


def test_new_statement_names_the_role_not_the_session_and_adds_describe_key() -> None:
    statement = role_statement(
        BEFORE,
        role_arn(),
        ["kms:Decrypt"],
        {"StringEquals": {"kms:ViaService": "s3.ap-northeast-1.amazonaws.com"}},
    )
    assert statement["Principal"] == {"AWS": role_arn()}
    assert statement["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    assert statement["Condition"] == {"StringEquals": {"kms:ViaService": "s3.ap-northeast-1.amazonaws.com"}}


def test_sid_is_unique() -> None:
    taken = add_statement(BEFORE, role_statement(BEFORE, role_arn(), ["kms:Decrypt"]))
    again = role_statement(taken, role_arn(), ["kms:Encrypt"])
    sids = [s.get("Sid") for s in taken["Statement"]]
    assert "KmsWhyAllowMyRole" in sids and again["Sid"] == "KmsWhyAllowMyRole2"


def test_replacing_a_dangling_unique_id_keeps_the_other_principals() -> None:
    before = policy(names(["AROAZ3XAMPLE7EXAMPLE1", role_arn("Other")], "kms:Decrypt"))
    after = extend_principals(before, 0, role_arn(), replacing="AROAZ3XAMPLE7EXAMPLE1")
    assert after["Statement"][0]["Principal"] == {"AWS": [role_arn(), role_arn("Other")]}


def test_proposal_is_verified_with_diff_and_hash_of_the_canonical_policy() -> None:
    after = add_statement(BEFORE, role_statement(BEFORE, role_arn(), ["kms:Decrypt"]))
    proposal = propose(
        "add_statement",
        _document(BEFORE),
        BEFORE,
        after,
        evaluate,
        key_arn=KEY,
        region="ap-northeast-1",
        role_arn=role_arn(),
        sid="KmsWhyAllowMyRole",
        blast_radius="",
        intended_actions=["kms:Decrypt"],
    )
    assert proposal.proof.allowed and proposal.proof.gains == () and proposal.verified
    assert proposal.sha256_before == policy_sha256(BEFORE)
    assert proposal.diff == unified_diff(BEFORE, after)
    assert proposal.diff.startswith("--- key-policy (current)\n+++ key-policy (patched)\n")
    context = [line[1:] for line in proposal.diff.splitlines()[3:] if line.startswith(" ")]
    assert all(line in json.dumps(BEFORE, indent=2).splitlines() for line in context)


def test_a_patch_that_does_not_allow_is_not_verified() -> None:
    after = add_statement(BEFORE, role_statement(BEFORE, role_arn("SomeoneElse"), ["kms:Decrypt"]))
    proposal = propose(
        "add_statement",
        _document(BEFORE),
        BEFORE,
        after,
        evaluate,
        key_arn=KEY,
        region=None,
        role_arn=role_arn(),
        sid=None,
        blast_radius="",
        intended_actions=["kms:Decrypt"],
    )
    assert not proposal.proof.allowed and not proposal.verified


def test_a_patch_that_lets_others_in_is_not_verified() -> None:
    wide = {
        "Sid": "Everyone",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "kms:*",
        "Resource": "*",
    }
    proposal = propose(
        "add_statement",
        _document(BEFORE),
        BEFORE,
        add_statement(BEFORE, wide),
        evaluate,
        key_arn=KEY,
        region=None,
        role_arn=role_arn(),
        sid="Everyone",
        blast_radius="",
        intended_actions=["kms:Decrypt"],
    )
    assert proposal.proof.allowed and not proposal.verified
    assert any("999999999999" in gain for gain in proposal.proof.gains)
    assert any(gain.endswith("kms:PutKeyPolicy") for gain in proposal.proof.gains)


def test_root_delegation_gains_are_declared_not_hidden() -> None:
    after = add_statement(BEFORE, root_statement(BEFORE, APP))
    proposal = propose(
        "restore_root",
        _document(BEFORE),
        BEFORE,
        after,
        evaluate,
        key_arn=KEY,
        region=None,
        role_arn=role_arn(),
        sid=None,
        blast_radius="the account",
        intended_actions=["kms:Decrypt"],
        accepted_accounts=[APP],
    )
    assert proposal.verified and proposal.proof.accepted_gains
    assert all(APP in gain for gain in proposal.proof.accepted_gains)


def test_refused_for_an_aws_managed_key() -> None:
    after = add_statement(BEFORE, role_statement(BEFORE, role_arn(), ["kms:Decrypt"]))
    with pytest.raises(Refusal, match="AWS managed key"):
        propose(
            "add_statement",
            _document(BEFORE),
            BEFORE,
            after,
            evaluate,
            key_arn=KEY,
            region=None,
            role_arn=role_arn(),
            sid=None,
            blast_radius="",
            intended_actions=["kms:Decrypt"],
            key_manager="AWS",
        )


def test_no_key_policy_patch_for_identity_boundary_scp_or_key_state_causes() -> None:
    from bot.snapshot import NamedPolicy

    boundary = NamedPolicy(
        name="B",
        arn=f"arn:aws:iam::{APP}:policy/B",
        kind="boundary",
        document=policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
    )
    delegated = policy(
        {
            "Sid": "Root",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{APP}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    cases = [
        diagnose(
            denial(kind="no_boundary_allow"), make_snapshot(principal(boundary=boundary), key(delegated))
        ),
        diagnose(
            denial(kind="key_state", error_code="DisabledException"),
            make_snapshot(principal(), key(policy(admins()), state="Disabled")),
        ),
    ]
    for d in cases:
        assert "key_policy_patch" not in [fix.kind for fix in d.fixes], d.cause.code
