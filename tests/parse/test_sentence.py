"""The IAM denial sentence and its reason phrases (kms-evaluation.md §3)."""

from __future__ import annotations

import pytest

from bot.parse import parse

KEY = "arn:aws:kms:ap-northeast-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = "arn:aws:sts::111122223333:assumed-role/MyRole/session"


def _sentence(reason: str) -> str:
    return f"User: {ROLE} is not authorized to perform: kms:Decrypt on resource: {KEY} {reason}".strip()


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("", "unspecified"),
        ("because no identity-based policy allows the kms:Decrypt action", "no_identity_allow"),
        ("because no resource-based policy allows the kms:Decrypt action", "no_resource_allow"),
        ("because no service control policy allows the kms:Decrypt action", "no_scp_allow"),
        ("because no resource control policy allows the kms:Decrypt action", "no_rcp_allow"),
        ("because no permissions boundary allows the kms:Decrypt action", "no_boundary_allow"),
        ("because no session policy allows the kms:Decrypt action", "no_session_allow"),
        ("because no VPC endpoint policy allows the kms:Decrypt action", "no_vpce_allow"),
        ("with an explicit deny in an identity-based policy", "explicit_deny_identity"),
        ("with an explicit deny in a resource-based policy", "explicit_deny_resource"),
        ("with an explicit deny in a service control policy", "explicit_deny_scp"),
        ("with an explicit deny in a resource control policy", "explicit_deny_rcp"),
        ("with an explicit deny in a permissions boundary", "explicit_deny_boundary"),
        ("with an explicit deny in a session policy", "explicit_deny_session"),
        ("with an explicit deny in a sessions policy", "explicit_deny_session"),
        ("with an explicit deny in a VPC endpoint policy", "explicit_deny_vpce"),
    ],
)
def test_reason_phrase_names_the_denial_kind(reason: str, kind: str) -> None:
    (denial,) = parse(_sentence(reason)).denials
    assert denial.denial_kind == kind
    assert (denial.action, denial.principal_arn, denial.resource_arn) == ("kms:Decrypt", ROLE, KEY)
    assert (denial.key_id, denial.region, denial.account) == (
        KEY.split("/")[-1],
        "ap-northeast-1",
        "444455556666",
    )


def test_policy_arn_suffix_is_kept_apart_from_the_resource() -> None:
    scp = "arn:aws:organizations::999988887777:policy/o-abc123/service_control_policy/p-def456"
    (denial,) = parse(_sentence(f"with an explicit deny in a service control policy: {scp}")).denials
    assert denial.policy_arn == scp
    assert denial.resource_arn == KEY


def test_the_same_sentence_about_s3_is_not_a_kms_problem() -> None:
    text = f"User: {ROLE} is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::bucket/key"
    assert parse(text).public_json() == {"relevant": False, "denials": []}
