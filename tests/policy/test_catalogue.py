"""The policy-shaped causes of kms-evaluation.md §4, one scenario per row: the decision and the lock."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import KEY, ROLE, SESSION, A, B, allow, checks, deny, policy, root_delegation, run

VIA_S3 = "s3.ap-northeast-1.amazonaws.com"
IDENTITY = [policy(allow())]
SSO_SESSION = f"arn:aws:sts::{A}:assumed-role/AWSReservedSSO_Dev_0123abcd/alice"
SSO_ROLE = f"arn:aws:iam::{A}:role/aws-reserved/sso.amazonaws.com/ap-northeast-1/AWSReservedSSO_Dev_0123abcd"
SSO_PATTERN = f"arn:aws:iam::{A}:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Dev_*"
REPLICA = f"arn:aws:kms:ap-northeast-1:{A}:key/mrk-1234"
PRIMARY = f"arn:aws:kms:us-east-1:{A}:key/mrk-1234"


def with_root(*statements: dict[str, Any]) -> dict[str, Any]:
    return policy(allow(Principal={"AWS": f"arn:aws:iam::{A}:root"}), *statements)


SCENARIOS: list[tuple[int, dict[str, Any], str, list[tuple[str, str]]]] = [
    (
        5,
        {
            "key_policy": with_root(
                deny(Principal="*", Condition={"StringNotEquals": {"aws:PrincipalOrgID": "o-mine"}})
            ),
            "identity_policies": IDENTITY,
            "context": {"aws:PrincipalOrgID": "o-other"},
        },
        "explicit_deny",
        [("key_policy", "explicit_deny")],
    ),
    (
        6,
        {
            "key_policy": root_delegation(),
            "identity_policies": [
                policy(allow(), deny(Condition={"StringNotEquals": {"aws:ResourceTag/env": "prod"}}))
            ],
        },
        "explicit_deny",
        [("identity", "explicit_deny")],
    ),
    (
        9,
        {
            "principal": f"arn:aws:sts::{B}:assumed-role/Partner/s",
            "key_policy": policy(allow(Principal={"AWS": B})),
            "identity_policies": IDENTITY,
            "rcps": [
                [
                    policy(
                        deny(
                            Principal="*",
                            Condition={
                                "StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-mine"},
                                "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
                            },
                        )
                    )
                ]
            ],
        },
        "explicit_deny",
        [("rcp", "explicit_deny")],
    ),
    (
        13,
        {
            "key_policy": policy(
                allow(Principal={"AWS": ROLE}, Condition={"StringEquals": {"kms:ViaService": VIA_S3}})
            )
        },
        "implicit_deny",
        [("key_policy", "no_allow"), ("identity", "no_allow")],
    ),
    (
        14,
        {
            "key_policy": policy(
                allow(
                    Principal={"AWS": ROLE},
                    Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
                )
            ),
            "identity_policies": IDENTITY,
            "context": {"kms:ViaService": VIA_S3},
        },
        "implicit_deny",
        [("key_policy", "no_allow")],
    ),
    (
        18,
        {
            "key_policy": policy(
                allow(
                    Principal={"AWS": ROLE},
                    Condition={
                        "StringLike": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::bucket/reports/*"}
                    },
                )
            ),
            "identity_policies": IDENTITY,
            "context": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::bucket"},
        },
        "implicit_deny",
        [("key_policy", "no_allow")],
    ),
    (
        19,
        {
            "key_policy": policy(
                allow(
                    Principal={"AWS": ROLE},
                    Condition={"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["aws:s3:arn"]}},
                )
            ),
            "context": {
                "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::b/k",
                "kms:EncryptionContext:x": "y",
            },
        },
        "implicit_deny",
        [("key_policy", "no_allow"), ("identity", "no_allow")],
    ),
    (
        21,
        {
            "principal": "cloudtrail.amazonaws.com",
            "key_policy": policy(
                allow(Principal="*", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-mine"}})
            ),
        },
        "implicit_deny",
        [("key_policy", "no_allow")],
    ),
    (
        22,
        {
            "key_policy": with_root(),
            "identity_policies": IDENTITY,
            "scps": [
                [policy(allow("*"), deny(Condition={"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))]
            ],
            "context": {"aws:SourceVpce": "vpce-1"},
        },
        "explicit_deny",
        [("scp", "explicit_deny")],
    ),
    (
        25,
        {
            "key_policy": policy(allow(Principal={"AWS": f"arn:aws:sts::{A}:assumed-role/App/old-session"})),
            "identity_policies": IDENTITY,
        },
        "implicit_deny",
        [("key_policy", "no_allow")],
    ),
    (
        27,
        {
            "resource": REPLICA,
            "key_policy": root_delegation(),
            "identity_policies": [policy(allow("kms:Decrypt", PRIMARY))],
        },
        "implicit_deny",
        [("identity", "no_allow")],
    ),
    (
        28,
        {
            "action": "kms:GenerateDataKey",
            "key_policy": root_delegation(),
            "identity_policies": [policy(allow("kms:Decrypt", KEY))],
        },
        "implicit_deny",
        [("identity", "no_allow")],
    ),
    (
        29,
        {
            "action": "kms:CreateGrant",
            "key_policy": policy(
                allow(
                    "kms:CreateGrant",
                    Principal={"AWS": ROLE},
                    Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                )
            ),
        },
        "implicit_deny",
        [("key_policy", "no_allow"), ("identity", "no_allow")],
    ),
    (
        34,
        {
            "key_policy": policy(allow(Principal={"AWS": ROLE}), deny(NotPrincipal={"AWS": [ROLE, A]})),
            "permissions_boundary": policy(allow()),
        },
        "explicit_deny",
        [("key_policy", "explicit_deny")],
    ),
    (
        37,
        {
            "key_policy": policy(
                allow(
                    Principal={"AWS": ROLE},
                    Condition={"StringEqualsIgnoreCase": {"kms:RecipientAttestation:ImageSha384": "abc"}},
                )
            ),
            "context": {"kms:RecipientAttestation:ImageSha384": "def"},
        },
        "implicit_deny",
        [("key_policy", "no_allow"), ("identity", "no_allow")],
    ),
]


@pytest.mark.parametrize(
    ("row", "sets", "decision", "failing"), SCENARIOS, ids=[f"row{s[0]}" for s in SCENARIOS]
)
def test_catalogue_row_section_4(
    row: int, sets: dict[str, Any], decision: str, failing: list[tuple[str, str]]
) -> None:
    arguments = dict(sets)
    principal = arguments.pop("principal", SESSION)
    result = run(principal, **arguments)
    assert result.decision == decision, row
    assert checks(result) == failing, row


def test_row_24_sso_role_matched_by_principal_arn_pattern_section_4() -> None:
    key_policy = policy(allow(Principal="*", Condition={"ArnLike": {"aws:PrincipalArn": SSO_PATTERN}}))
    given = {"aws:PrincipalArn": SSO_ROLE}
    assert run(SSO_SESSION, key_policy=key_policy, context=given).decision == "allow"
    # Without the role's path (only the session ARN is known) the pattern cannot match.
    assert run(SSO_SESSION, key_policy=key_policy).decision == "implicit_deny"


def test_row_13_allowed_through_the_service_section_4() -> None:
    key_policy = policy(
        allow(Principal={"AWS": ROLE}, Condition={"StringEquals": {"kms:ViaService": VIA_S3}})
    )
    assert run(SESSION, key_policy=key_policy, context={"kms:ViaService": VIA_S3}).decision == "allow"
