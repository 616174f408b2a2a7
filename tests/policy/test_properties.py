"""Property tests (hypothesis): monotonicity of Deny and Allow, and no crash on generated policies
(kms-evaluation.md §2.28: an explicit deny anywhere denies; §1.4/§2.17: conditions)."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.policy import PolicyError, evaluate
from bot.policy.simulation import SimulationDocument

from .helpers import KEY, ROLE, SESSION, USER, A, B

PRINCIPALS = [SESSION, ROLE, USER, f"arn:aws:sts::{B}:assumed-role/Partner/s", f"arn:aws:iam::{A}:root"]
ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:CreateGrant", "kms:ScheduleKeyDeletion"]
OPERATORS = [
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "StringEqualsIgnoreCase",
    "StringEqualsIfExists",
    "ArnLike",
    "ArnNotEquals",
    "Bool",
    "BoolIfExists",
    "Null",
    "ForAnyValue:StringEquals",
    "ForAllValues:StringEquals",
    "NumericLessThan",
    "IpAddress",
    "NotIpAddress",
]
KEYS = ["kms:ViaService", "aws:PrincipalArn", "kms:CallerAccount", "kms:EncryptionContext:k", "aws:SourceIp"]
VALUES = {
    "StringEquals": ["s3.us-east-1.amazonaws.com", A, "v"],
    "NumericLessThan": ["5"],
    "IpAddress": ["10.0.0.0/8"],
    "NotIpAddress": ["10.0.0.0/8"],
    "Bool": ["true", "false"],
    "BoolIfExists": ["true", "false"],
    "Null": ["true", "false"],
}

principal_values = st.sampled_from(["*", A, B, ROLE, SESSION, USER, f"arn:aws:iam::{B}:root", "AROAEXAMPLE"])
condition = st.sampled_from(OPERATORS).flatmap(
    lambda op: st.fixed_dictionaries(
        {
            op: st.dictionaries(
                st.sampled_from(KEYS), st.sampled_from(VALUES.get(op, ["s3.*", "*", ROLE, "v"])), max_size=2
            )
        }
    )
)


def statement(with_principal: bool, effect: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    fields: dict[str, Any] = {
        "Effect": st.just(effect) if effect else st.sampled_from(["Allow", "Deny"]),
        "Action": st.sampled_from(["kms:*", "kms:Decrypt", "kms:Gen*", "*", ["kms:Encrypt", "kms:Decrypt"]]),
        "Resource": st.sampled_from(["*", KEY, "arn:aws:kms:*:*:key/*", "arn:aws:kms:us-east-1:1:alias/x"]),
    }
    optional: dict[str, Any] = {"Condition": condition}
    if with_principal:
        fields["Principal"] = st.one_of(st.just("*"), st.fixed_dictionaries({"AWS": principal_values}))
    return st.fixed_dictionaries(fields, optional=optional)


def policy_of(with_principal: bool) -> st.SearchStrategy[dict[str, Any]]:
    return st.lists(statement(with_principal), max_size=4).map(
        lambda s: {"Version": "2012-10-17", "Statement": s}
    )


documents = st.fixed_dictionaries(
    {
        "request": st.fixed_dictionaries(
            {
                "principal": st.sampled_from(PRINCIPALS),
                "action": st.sampled_from(ACTIONS),
                "resource": st.just(KEY),
                "context": st.dictionaries(
                    st.sampled_from(KEYS),
                    st.sampled_from(["s3.us-east-1.amazonaws.com", "10.1.2.3", "v", A]),
                    max_size=3,
                ),
            }
        ),
        "identity_policies": st.lists(policy_of(False), max_size=2),
        "key_policy": policy_of(True),
    },
    optional={
        "permissions_boundary": policy_of(False),
        "session_policy": policy_of(False),
        "scps": st.lists(st.lists(policy_of(False), min_size=1, max_size=2), max_size=2),
        "rcps": st.lists(st.lists(policy_of(True), max_size=1), max_size=2),
        "grants": st.lists(
            st.fixed_dictionaries(
                {"GranteePrincipal": st.sampled_from([ROLE, USER]), "Operations": st.just(["Decrypt"])}
            ),
            max_size=1,
        ),
        "key": st.sampled_from([{"manager": "CUSTOMER"}, {"manager": "AWS"}]),
    },
)

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MATCH_ALL_DENY = {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}
MATCH_ALL_ALLOW = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def _with_statement(raw: dict[str, Any], target: str, stmt: dict[str, Any]) -> dict[str, Any]:
    changed = dict(raw)
    if target == "key_policy":
        base = changed["key_policy"]
        changed["key_policy"] = {**base, "Statement": [*base["Statement"], stmt]}
    else:
        changed["identity_policies"] = [
            *changed["identity_policies"],
            {"Version": "2012-10-17", "Statement": [stmt]},
        ]
    return changed


@SETTINGS
@given(documents, st.sampled_from(["key_policy", "identity"]))
def test_adding_a_matching_deny_never_turns_deny_into_allow_section_2_28(
    raw: dict[str, Any], target: str
) -> None:
    before = evaluate(SimulationDocument.model_validate(raw))
    deny = dict(MATCH_ALL_DENY)
    if target == "identity":
        deny.pop("Principal")
    after = evaluate(SimulationDocument.model_validate(_with_statement(raw, target, deny)))
    if before.decision != "allow":
        assert after.decision != "allow"
    root_caller = raw["request"]["principal"].endswith(":root")
    if target == "key_policy" or not root_caller:
        assert after.decision == "explicit_deny"


@SETTINGS
@given(documents, st.sampled_from(["key_policy", "identity"]))
def test_adding_an_allow_never_turns_allow_into_deny_section_2_33(raw: dict[str, Any], target: str) -> None:
    before = evaluate(SimulationDocument.model_validate(raw))
    allow = dict(MATCH_ALL_ALLOW)
    if target == "key_policy":
        allow["Principal"] = {"AWS": raw["request"]["principal"]}
    after = evaluate(SimulationDocument.model_validate(_with_statement(raw, target, allow)))
    if before.decision == "allow":
        assert after.decision == "allow"


junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
junk_statement = st.dictionaries(
    st.sampled_from(
        [
            "Effect",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Principal",
            "NotPrincipal",
            "Condition",
            "Sid",
        ]
    ),
    junk | st.sampled_from(["Allow", "Deny", "*", "kms:*"]) | condition,
    max_size=6,
)


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(["Version", "Statement", "Id"]),
        junk | st.lists(junk_statement, max_size=3),
        max_size=3,
    ),
    st.sampled_from(["key_policy", "permissions_boundary", "vpc_endpoint_policy"]),
)
def test_no_generated_policy_raises_anything_but_policy_error(raw: dict[str, Any], where: str) -> None:
    document = {"request": {"principal": SESSION, "action": "kms:Decrypt", "resource": KEY}, where: raw}
    with contextlib.suppress(PolicyError):  # any other exception fails the test
        evaluate(SimulationDocument.model_validate(document))
