"""Malformed policies and requests give one clear `PolicyError` naming the policy and statement."""

from __future__ import annotations

from typing import Any

import pytest

from bot.errors import UserError
from bot.policy import PolicyError, evaluate

from .helpers import SESSION, allow, doc, policy, root_delegation


def error_for(**sets: Any) -> str:
    with pytest.raises(PolicyError) as caught:
        evaluate(doc(SESSION, **sets))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_policy_error_is_a_user_error() -> None:
    assert issubclass(PolicyError, UserError)


def test_unknown_operator_names_policy_statement_and_sid() -> None:
    bad = policy(allow(Principal="*"), allow(Principal="*", Sid="X", Condition={"StringEqualz": {"a": "b"}}))
    assert (
        error_for(key_policy=bad)
        == "key_policy statement 1 (Sid 'X'): unknown condition operator 'StringEqualz'"
    )


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        (
            {"identity_policies": [policy({"Action": "kms:*", "Resource": "*"})]},
            "identity_policies[0] statement 0: statement has no Effect",
        ),
        (
            {"identity_policies": [policy(allow(), allow(Bogus=1))]},
            "identity_policies[0] statement 1: unknown field 'Bogus'",
        ),
        (
            {"identity_policies": [{"Statement": [], "Extra": 1}]},
            "identity_policies[0]: unknown field 'Extra'",
        ),
        (
            {"identity_policies": [policy({"Effect": "Permit", "Action": "*"})]},
            "identity_policies[0] statement 0: Effect",
        ),
        (
            {"identity_policies": [policy({"Effect": "Allow", "Resource": "*"})]},
            "exactly one of Action and NotAction",
        ),
        ({"identity_policies": [policy(allow(action=5))]}, "identity_policies[0] statement 0: Action"),
        ({"identity_policies": [policy(allow(Principal="*"))]}, "Principal/NotPrincipal is not allowed"),
        ({"key_policy": policy(allow())}, "key_policy statement 0: a key-policy statement needs a Principal"),
        ({"key_policy": policy(allow(Principal={"Bogus": "x"}))}, "unknown principal type 'Bogus'"),
        ({"key_policy": {"Version": "2099-01-01", "Statement": []}}, "key_policy: unsupported Version"),
        (
            {"scps": [[policy(allow(), allow(Condition={"NumericEquals": {"n": "ten"}}))]]},
            "scps[0][0] statement 1: NumericEquals value 'ten'",
        ),
        ({"rcps": [[policy(allow(Principal="*", Condition="x"))]]}, "rcps[0][0] statement 0: Condition"),
        (
            {"permissions_boundary": policy(allow(Condition={"IpAddress": {"aws:SourceIp": "nope"}}))},
            "permissions_boundary statement 0",
        ),
        (
            {"session_policy": policy("not a statement")},
            "session_policy statement 0: a statement must be a JSON object",
        ),
        (
            {"vpc_endpoint_policy": policy(allow(Condition={"Bool": {"k": ["maybe"]}}))},
            "vpc_endpoint_policy statement 0",
        ),
        ({"grants": [{"Operations": ["Decrypt"]}]}, "grants[0]: missing GranteePrincipal"),
        ({"grants": [{"GranteePrincipal": "x", "Operations": "Decrypt"}]}, "grants[0]: Operations"),
        ({"grants": [{"GranteePrincipal": "x", "Constraints": {"Bogus": {}}}]}, "grants[0]: Constraints"),
    ],
)
def test_malformed_inputs(sets: dict[str, Any], expected: str) -> None:
    full = {"key_policy": root_delegation(), **sets}
    assert expected in error_for(**full)


def test_bad_request_principal() -> None:
    with pytest.raises(PolicyError, match=r"request\.principal"):
        evaluate(doc("not-an-arn", key_policy=root_delegation()))


def test_bad_context_value_type() -> None:
    with pytest.raises(PolicyError, match=r"request\.context"):
        evaluate(doc(SESSION, context={"k": {"nested": 1}}, key_policy=root_delegation()))


def test_single_values_and_lists_are_both_accepted() -> None:
    single = {
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
    }
    listed = policy({"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": ["*"]})
    for identity in (single, listed):
        assert (
            evaluate(doc(SESSION, identity_policies=[identity], key_policy=root_delegation())).decision
            == "allow"
        )


def test_missing_resource_reads_as_star_and_not_resource_works() -> None:
    no_resource = policy({"Effect": "Allow", "Action": "kms:Decrypt"})
    assert (
        evaluate(doc(SESSION, identity_policies=[no_resource], key_policy=root_delegation())).decision
        == "allow"
    )
    not_resource = policy({"Effect": "Allow", "Action": "kms:*", "NotResource": "arn:aws:kms:*:*:key/other"})
    assert (
        evaluate(doc(SESSION, identity_policies=[not_resource], key_policy=root_delegation())).decision
        == "allow"
    )
    not_action = policy({"Effect": "Allow", "NotAction": "kms:Decrypt", "Resource": "*"})
    assert (
        evaluate(doc(SESSION, identity_policies=[not_action], key_policy=root_delegation())).decision
        != "allow"
    )


def test_policy_variables_in_resource_only_for_2012_version_section_2_15() -> None:
    user = "arn:aws:iam::111122223333:user/k1"
    pattern = "arn:aws:kms:us-east-1:111122223333:key/${aws:username}"
    key = "arn:aws:kms:us-east-1:111122223333:key/k1"
    new = policy(allow("kms:Decrypt", pattern))
    old = policy(allow("kms:Decrypt", pattern), version="2008-10-17")
    assert (
        evaluate(doc(user, resource=key, identity_policies=[new], key_policy=root_delegation())).decision
        == "allow"
    )
    assert (
        evaluate(doc(user, resource=key, identity_policies=[old], key_policy=root_delegation())).decision
        != "allow"
    )


def test_result_cache_tells_true_from_one() -> None:
    key_policy = policy(allow(Principal="*", Condition={"StringEquals": {"k": "1"}}))
    one = evaluate(doc(SESSION, context={"k": 1}, key_policy=key_policy))
    true = evaluate(doc(SESSION, context={"k": True}, key_policy=key_policy))
    assert (one.decision, true.decision) == ("allow", "implicit_deny")
