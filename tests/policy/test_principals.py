"""Principal classification and matching (kms-evaluation.md §2.2 and §2.16)."""

from __future__ import annotations

import pytest

from bot.policy.principals import CallerError, aws_principal, classify_caller, service_principal

from .helpers import ROLE, SESSION, USER, A, B

FED = f"arn:aws:sts::{A}:federated-user/carol"


@pytest.mark.parametrize(
    ("text", "kind", "name"),
    [
        (USER, "user", "alice"),
        (f"arn:aws:iam::{A}:user/dev/alice", "user", "alice"),
        (ROLE, "role", "App"),
        (SESSION, "session", "App"),
        (FED, "fedsession", "carol"),
        (f"arn:aws:iam::{A}:root", "root", None),
        ("logs.amazonaws.com", "service", None),
    ],
)
def test_classify_caller_section_2_2(text: str, kind: str, name: str | None) -> None:
    caller = classify_caller(text)
    assert caller.kind == kind
    assert caller.name == name


def test_session_principal_arn_is_the_role_arn_section_2_7() -> None:
    assert classify_caller(SESSION).principal_arn == ROLE


def test_service_linked_role_is_recognised_section_2_23() -> None:
    assert classify_caller(
        f"arn:aws:iam::{A}:role/aws-service-role/autoscaling.amazonaws.com/X"
    ).is_service_linked
    assert classify_caller(f"arn:aws:sts::{A}:assumed-role/AWSServiceRoleForAutoScaling/s").is_service_linked
    assert not classify_caller(SESSION).is_service_linked


@pytest.mark.parametrize("text", ["not-an-arn", f"arn:aws:s3:::{A}", "arn:aws:iam::12:user/x"])
def test_unclassifiable_caller_is_an_error(text: str) -> None:
    with pytest.raises(CallerError):
        classify_caller(text)


MATCHES: list[tuple[str, str, str, str | None]] = [
    # (section, policy principal, caller, expected class)
    ("2.16 ANY", "*", SESSION, "any"),
    ("2.16 ACCOUNT id", A, SESSION, "account"),
    ("2.16 ACCOUNT root", f"arn:aws:iam::{A}:root", USER, "account"),
    ("2.16 other account", B, SESSION, None),
    ("2.16 ROLE matches its sessions", ROLE, SESSION, "role"),
    ("2.16 ROLE with path matches", f"arn:aws:iam::{A}:role/team/App", SESSION, "role"),
    ("2.16 ROLE matches the role itself", ROLE, ROLE, "role"),
    ("2.16 other role", f"arn:aws:iam::{A}:role/Other", SESSION, None),
    ("2.16 SESSION exact", SESSION, SESSION, "direct"),
    ("2.16 other session", f"arn:aws:sts::{A}:assumed-role/App/other", SESSION, None),
    ("2.16 USER", USER, USER, "direct"),
    ("2.16 USER does not match a session", USER, SESSION, None),
    ("2.16 FEDSESSION", FED, FED, "direct"),
    ("2.16 DANGLING role id", "AROAEXAMPLEID123456", SESSION, None),
    ("2.16 DANGLING user id", "AIDAEXAMPLEID123456", USER, None),
    ("2.16 wildcard ARNs are not principals", f"arn:aws:iam::{A}:role/*", SESSION, None),
    ("2.16 ACCOUNT does not match services", A, "logs.amazonaws.com", None),
]


@pytest.mark.parametrize(("section", "principal", "caller", "expected"), MATCHES)
def test_aws_principal_matches(section: str, principal: str, caller: str, expected: str | None) -> None:
    assert aws_principal(principal).match(classify_caller(caller)) == expected, section


def test_service_principal_matches_only_that_service_section_2_16() -> None:
    spec = service_principal("logs.amazonaws.com")
    assert spec.match(classify_caller("logs.amazonaws.com")) == "service"
    assert spec.match(classify_caller("sns.amazonaws.com")) is None
    assert spec.match(classify_caller(SESSION)) is None


def test_given_principal_arn_supplies_the_role_path_section_2_2() -> None:
    from bot.policy.principals import with_role_path

    session = classify_caller(f"arn:aws:sts::{A}:assumed-role/AWSReservedSSO_Dev_abc/alice")
    full = f"arn:aws:iam::{A}:role/aws-reserved/sso.amazonaws.com/ap-northeast-1/AWSReservedSSO_Dev_abc"
    assert with_role_path(session, full).principal_arn == full
    assert with_role_path(session, f"arn:aws:iam::{A}:role/Other").role_path == "/"
    slr = classify_caller(f"arn:aws:sts::{A}:assumed-role/MyLinked/s")
    assert with_role_path(
        slr, f"arn:aws:iam::{A}:role/aws-service-role/x.amazonaws.com/MyLinked"
    ).is_service_linked
