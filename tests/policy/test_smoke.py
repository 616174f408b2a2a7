"""The engine's basic same-account cases (kms-evaluation.md §2.33)."""

from __future__ import annotations

from .helpers import ROLE, SESSION, allow, checks, decision, doc, policy, root_delegation, run


def test_root_delegation_and_identity_allow_allows_section_2_33d() -> None:
    assert decision(identity_policies=[policy(allow())], key_policy=root_delegation()) == "allow"


def test_root_delegation_without_identity_allow_is_identity_no_allow_section_2_33d() -> None:
    result = run(key_policy=root_delegation())
    assert result.decision == "implicit_deny"
    assert checks(result) == [("identity", "no_allow")]


def test_identity_allow_without_key_policy_statement_is_key_policy_no_allow_section_1_3() -> None:
    result = run(identity_policies=[policy(allow())], key_policy=policy())
    assert checks(result) == [("key_policy", "no_allow")]
    assert result.layer("identity") is not None and result.layer("identity").allows is True  # type: ignore[union-attr]


def test_role_named_directly_needs_no_identity_policy_section_2_33b() -> None:
    key_policy = policy(allow(Principal={"AWS": ROLE}))
    result = run(SESSION, key_policy=key_policy)
    assert result.decision == "allow"
    assert result.matched[0].principal_match == "role"


def test_document_round_trip_is_stable() -> None:
    assert doc(key_policy=root_delegation()).request.principal == SESSION
