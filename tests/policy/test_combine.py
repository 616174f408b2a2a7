"""The KMS combination rules, one test per rule (kms-evaluation.md §1.1-§1.3 and §2.23-§2.35)."""

from __future__ import annotations

from typing import Any

from .helpers import (
    KEY,
    KEY_B,
    ROLE,
    ROOT,
    SESSION,
    USER,
    A,
    B,
    allow,
    checks,
    decision,
    deny,
    policy,
    root_delegation,
    run,
)

SESSION_B = f"arn:aws:sts::{B}:assumed-role/Partner/s1"
ROLE_B = f"arn:aws:iam::{B}:role/Partner"
FED = f"arn:aws:sts::{A}:federated-user/carol"
IDENTITY = [policy(allow(Sid="AllowKms"))]
NO_KMS = policy(allow("s3:*"))


def key_naming(principal: Any, **extra: Any) -> dict[str, Any]:
    return policy(allow(Principal=principal, Sid="Named", **extra))


# §2.33 (a): a key-policy Allow that names the user, session or federated user directly


def test_user_named_directly_ignores_identity_and_boundary_section_2_33a() -> None:
    result = run(USER, key_policy=key_naming({"AWS": USER}), permissions_boundary=NO_KMS)
    assert result.decision == "allow"
    assert result.matched[0].principal_match == "direct"


def test_session_named_directly_ignores_session_policy_section_1_1_step_4() -> None:
    result = run(
        SESSION, key_policy=key_naming({"AWS": SESSION}), session_policy=NO_KMS, permissions_boundary=NO_KMS
    )
    assert result.decision == "allow"


def test_federated_session_named_directly_needs_no_session_policy_section_1_1_step_4() -> None:
    assert decision(FED, key_policy=key_naming({"AWS": FED})) == "allow"


# §2.33 (b): the role ARN is named: boundary and session policy limit it


def test_role_named_needs_no_identity_policy_section_2_33b() -> None:
    assert decision(SESSION, key_policy=key_naming({"AWS": ROLE})) == "allow"


def test_role_named_is_limited_by_boundary_section_2_33b() -> None:
    result = run(SESSION, key_policy=key_naming({"AWS": ROLE}), permissions_boundary=NO_KMS)
    assert result.decision == "implicit_deny"
    assert checks(result) == [("permissions_boundary", "no_allow")]


def test_role_named_is_limited_by_session_policy_section_2_33b() -> None:
    result = run(SESSION, key_policy=key_naming({"AWS": ROLE}), session_policy=NO_KMS)
    assert checks(result) == [("session", "no_allow")]


def test_role_named_with_allowing_boundary_and_session_section_2_33b() -> None:
    ok = policy(allow())
    assert (
        decision(SESSION, key_policy=key_naming({"AWS": ROLE}), permissions_boundary=ok, session_policy=ok)
        == "allow"
    )


def test_principal_star_is_limited_like_a_role_grant_and_noted_unverified_interfaces() -> None:
    result = run(SESSION, key_policy=key_naming("*"), permissions_boundary=NO_KMS)
    assert checks(result) == [("permissions_boundary", "no_allow")]
    assert any("unverified" in note for note in result.notes)
    assert decision(SESSION, key_policy=key_naming("*")) == "allow"


# §2.33 (c): grants


def test_grant_alone_allows_section_2_33c() -> None:
    grant = {"GranteePrincipal": ROLE, "Operations": ["Decrypt"], "GrantId": "g1"}
    result = run(SESSION, key_policy=policy(), grants=[grant])
    assert result.decision == "allow"
    assert result.layer("grants").allows is True  # type: ignore[union-attr]
    assert result.matched[0].policy_type == "grants"


def test_grant_for_another_operation_does_not_allow_section_2_22() -> None:
    grant = {"GranteePrincipal": ROLE, "Operations": ["Encrypt"]}
    result = run(SESSION, key_policy=policy(), grants=[grant])
    assert checks(result) == [("key_policy", "no_allow"), ("identity", "no_allow")]
    assert result.layer("grants").allows is False  # type: ignore[union-attr]
    assert any(miss.policy_type == "grants" and miss.element == "action" for miss in result.misses)


def test_grant_encryption_context_equals_section_2_22() -> None:
    grant = {
        "GranteePrincipal": ROLE,
        "Operations": ["Decrypt"],
        "Constraints": {"EncryptionContextEquals": {"k": "v"}},
    }
    exact = {"kms:EncryptionContext:k": "v"}
    more = {"kms:EncryptionContext:k": "v", "kms:EncryptionContext:x": "y"}
    assert decision(SESSION, key_policy=policy(), grants=[grant], context=exact) == "allow"
    assert decision(SESSION, key_policy=policy(), grants=[grant], context=more) == "implicit_deny"
    assert decision(SESSION, key_policy=policy(), grants=[grant]) == "implicit_deny"


def test_grant_encryption_context_subset_section_2_22() -> None:
    grant = {
        "GranteePrincipal": ROLE,
        "Operations": ["Decrypt"],
        "Constraints": {"EncryptionContextSubset": {"k": "v"}},
    }
    more = {"kms:EncryptionContext:k": "v", "kms:EncryptionContext:x": "y"}
    assert decision(SESSION, key_policy=policy(), grants=[grant], context=more) == "allow"
    assert (
        decision(SESSION, key_policy=policy(), grants=[grant], context={"kms:EncryptionContext:k": "V"})
        == "implicit_deny"
    )


def test_grant_to_another_role_does_not_apply_section_4_row_30() -> None:
    grant = {"GranteePrincipal": f"arn:aws:iam::{A}:role/Other", "Operations": ["Decrypt"]}
    result = run(SESSION, key_policy=policy(), grants=[grant])
    assert result.decision == "implicit_deny"
    assert any(miss.element == "principal" and miss.policy_type == "grants" for miss in result.misses)


def test_grants_never_deny_section_1_3() -> None:
    grant = {"GranteePrincipal": ROLE, "Operations": ["Encrypt"]}
    assert (
        decision(SESSION, key_policy=root_delegation(), identity_policies=IDENTITY, grants=[grant]) == "allow"
    )


# §2.33 (d): delegation to the account


def test_delegation_needs_identity_allow_section_2_33d() -> None:
    result = run(SESSION, key_policy=root_delegation())
    assert checks(result) == [("identity", "no_allow")]
    assert result.layer("key_policy").allows is True  # type: ignore[union-attr]


def test_delegation_then_boundary_then_session_section_2_33d() -> None:
    result = run(
        SESSION,
        key_policy=root_delegation(),
        identity_policies=IDENTITY,
        permissions_boundary=NO_KMS,
        session_policy=NO_KMS,
    )
    assert checks(result) == [("permissions_boundary", "no_allow"), ("session", "no_allow")]


def test_no_root_delegation_makes_iam_allows_ineffective_section_1_3() -> None:
    key_policy = policy(allow(Principal={"AWS": f"arn:aws:iam::{A}:role/Admin"}))
    result = run(SESSION, key_policy=key_policy, identity_policies=IDENTITY)
    assert result.decision == "implicit_deny"
    assert checks(result) == [("key_policy", "no_allow")]
    assert result.layer("key_policy").allows is False  # type: ignore[union-attr]


def test_iam_deny_applies_without_root_delegation_section_1_3() -> None:
    key_policy = key_naming({"AWS": ROLE})
    identity = [policy(deny("kms:Decrypt", Sid="NoDecrypt"))]
    result = run(SESSION, key_policy=key_policy, identity_policies=identity)
    assert result.decision == "explicit_deny"
    assert result.failing_checks[0].statement == "NoDecrypt"
    assert result.failing_checks[0].policy_index == 0


def test_federated_user_without_session_policy_is_denied_section_1_1_step_7() -> None:
    result = run(FED, key_policy=root_delegation(), identity_policies=IDENTITY)
    assert checks(result) == [("session", "no_allow")]


def test_role_session_without_session_policy_is_allowed_section_1_1_step_7() -> None:
    assert decision(SESSION, key_policy=root_delegation(), identity_policies=IDENTITY) == "allow"


def test_root_user_needs_no_identity_policy_interfaces() -> None:
    result = run(ROOT, key_policy=root_delegation())
    assert result.decision == "allow"
    assert result.layer("identity").allows is True  # type: ignore[union-attr]


def test_root_user_is_subject_to_scps_section_1_1_step_3() -> None:
    scps = [[policy(allow("*"))], [policy(deny("kms:Decrypt", Sid="NoDecrypt"))]]
    assert decision(ROOT, key_policy=root_delegation(), scps=scps) == "explicit_deny"


def test_dangling_unique_id_matches_nobody_section_4_row_23() -> None:
    result = run(SESSION, key_policy=key_naming({"AWS": "AROAEXAMPLEID1234567"}), identity_policies=IDENTITY)
    assert checks(result) == [("key_policy", "no_allow")]
    assert any(
        miss.element == "principal" and miss.expected == ("AROAEXAMPLEID1234567",) for miss in result.misses
    )


def test_identity_policy_must_name_the_key_arn_not_the_alias_section_1_3() -> None:
    alias = policy(allow("kms:Decrypt", f"arn:aws:kms:us-east-1:{A}:alias/app"))
    result = run(SESSION, key_policy=root_delegation(), identity_policies=[alias])
    assert checks(result) == [("identity", "no_allow")]
    assert any(miss.element == "resource" for miss in result.misses)
    wildcard = policy(allow("kms:Decrypt", f"arn:aws:kms:*:{A}:key/*"))
    assert decision(SESSION, key_policy=root_delegation(), identity_policies=[wildcard]) == "allow"


# §2.34: cross account


def test_cross_account_needs_key_policy_and_identity_section_2_34() -> None:
    identity = [policy(allow("kms:Decrypt", KEY))]
    assert decision(SESSION_B, key_policy=root_delegation(B), identity_policies=identity) == "allow"


def test_cross_account_without_identity_allow_section_2_34() -> None:
    result = run(SESSION_B, key_policy=root_delegation(B))
    assert checks(result) == [("identity", "no_allow")]


def test_cross_account_key_policy_not_naming_the_account_section_2_34() -> None:
    result = run(SESSION_B, key_policy=root_delegation(), identity_policies=[policy(allow())])
    assert checks(result) == [("key_policy", "no_allow")]


def test_cross_account_role_named_directly_still_needs_identity_section_2_34() -> None:
    result = run(SESSION_B, key_policy=key_naming({"AWS": ROLE_B}))
    assert checks(result) == [("identity", "no_allow")]
    assert decision(SESSION_B, key_policy=key_naming({"AWS": ROLE_B}), identity_policies=IDENTITY) == "allow"


def test_cross_account_session_named_directly_still_needs_identity_section_2_34() -> None:
    assert decision(SESSION_B, key_policy=key_naming({"AWS": SESSION_B})) == "implicit_deny"


def test_cross_account_boundary_and_session_apply_section_2_34() -> None:
    result = run(
        SESSION_B,
        key_policy=root_delegation(B),
        identity_policies=IDENTITY,
        permissions_boundary=NO_KMS,
        session_policy=NO_KMS,
    )
    assert checks(result) == [("permissions_boundary", "no_allow"), ("session", "no_allow")]


def test_cross_account_grant_stands_in_for_identity_unverified_section_2_34() -> None:
    grant = {"GranteePrincipal": ROLE_B, "Operations": ["Decrypt"]}
    result = run(SESSION_B, key_policy=policy(), grants=[grant])
    assert result.decision == "allow"
    assert any("unverified" in note for note in result.notes)


def test_cross_account_caller_account_condition_section_4_row_15() -> None:
    key_policy = policy(allow(Principal="*", Condition={"StringEquals": {"kms:CallerAccount": A}}))
    assert checks(run(SESSION_B, key_policy=key_policy, identity_policies=IDENTITY)) == [
        ("key_policy", "no_allow")
    ]


# §2.35 overlays


def test_aws_managed_key_cross_account_is_always_denied_section_2_35a() -> None:
    result = run(
        SESSION_B,
        key_policy=key_naming("*"),
        identity_policies=IDENTITY,
        key={"manager": "AWS"},
        context={"kms:ViaService": "s3.us-east-1.amazonaws.com"},
    )
    assert result.decision == "implicit_deny"
    assert [c.reason for c in result.failing_checks] == ["aws_managed_cross_account"]


def test_aws_managed_key_without_via_service_is_denied_section_2_35b() -> None:
    result = run(SESSION, key_policy=root_delegation(), identity_policies=IDENTITY, key={"manager": "AWS"})
    assert [c.reason for c in result.failing_checks] == ["aws_managed_direct_use"]
    via = {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    assert (
        decision(
            SESSION,
            key_policy=root_delegation(),
            identity_policies=IDENTITY,
            key={"manager": "AWS"},
            context=via,
        )
        == "allow"
    )


def test_operation_not_usable_cross_account_section_2_35c() -> None:
    everything = {"key_policy": root_delegation(B), "identity_policies": IDENTITY}
    result = run(SESSION_B, action="kms:ScheduleKeyDeletion", **everything)
    assert [c.reason for c in result.failing_checks] == ["not_cross_account_capable"]
    assert decision(SESSION_B, action="kms:DescribeKey", **everything) == "allow"
    assert (
        decision(
            SESSION,
            action="kms:ScheduleKeyDeletion",
            key_policy=root_delegation(),
            identity_policies=IDENTITY,
        )
        == "allow"
    )


# §2.23 SCPs


def test_scp_every_level_must_allow_section_2_23() -> None:
    scps = [[policy(allow("*"))], [policy(allow("s3:*"))], [policy(allow("kms:*"))]]
    result = run(SESSION, key_policy=root_delegation(), identity_policies=IDENTITY, scps=scps)
    assert result.decision == "implicit_deny"
    assert [(c.policy_type, c.kind, c.level) for c in result.failing_checks] == [("scp", "no_allow", 1)]


def test_scp_explicit_deny_names_level_and_statement_section_2_28() -> None:
    scps = [[policy(allow("*"))], [policy(allow("*")), policy(deny("kms:Decrypt", Sid="DenyDecrypt"))]]
    result = run(SESSION, key_policy=root_delegation(), identity_policies=IDENTITY, scps=scps)
    check = result.failing_checks[0]
    assert (check.policy_type, check.kind, check.level, check.policy_index, check.statement) == (
        "scp",
        "explicit_deny",
        1,
        1,
        "DenyDecrypt",
    )


def test_scp_exemptions_section_2_23() -> None:
    scps = [[policy(deny("kms:*"))]]
    base = {"key_policy": root_delegation(), "identity_policies": IDENTITY, "scps": scps}
    assert decision(SESSION, **base) == "explicit_deny"
    assert decision(SESSION, management_account=A, **base) == "allow"
    slr = f"arn:aws:sts::{A}:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling"
    assert decision(slr, **base) == "allow"
    service_key_policy = policy(allow(Principal={"Service": "logs.amazonaws.com"}))
    assert decision("logs.amazonaws.com", key_policy=service_key_policy, scps=scps) == "allow"


# §2.24 RCPs


def test_rcp_explicit_deny_section_2_24() -> None:
    rcps = [
        [
            policy(
                deny(
                    Principal="*", Condition={"StringNotEquals": {"aws:PrincipalAccount": A}}, Sid="Perimeter"
                )
            )
        ]
    ]
    identity = [policy(allow("kms:Decrypt", KEY))]
    result = run(SESSION_B, key_policy=root_delegation(B), identity_policies=identity, rcps=rcps)
    assert checks(result) == [("rcp", "explicit_deny")]
    assert decision(SESSION, key_policy=root_delegation(), identity_policies=identity, rcps=rcps) == "allow"


def test_rcp_full_access_is_implicit_at_every_level_section_2_24() -> None:
    rcps = [[policy(allow("s3:*", Principal="*"))]]
    assert decision(SESSION, key_policy=root_delegation(), identity_policies=IDENTITY, rcps=rcps) == "allow"


def test_rcp_exemptions_section_2_24() -> None:
    rcps = [[policy(deny(Principal="*"))]]
    base = {"key_policy": root_delegation(), "identity_policies": IDENTITY, "rcps": rcps}
    assert decision(SESSION, **base) == "explicit_deny"
    via = {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    assert decision(SESSION, key={"manager": "AWS"}, context=via, **base) == "allow"
    assert decision(SESSION, action="kms:RetireGrant", **base) == "allow"
    assert decision(SESSION, management_account=A, **base) == "allow"


def test_rcp_applies_to_service_principals_section_4_row_35() -> None:
    rcps = [[policy(deny(Principal="*", Condition={"BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}))]]
    service_key_policy = policy(allow(Principal={"Service": "logs.amazonaws.com"}))
    assert decision("logs.amazonaws.com", key_policy=service_key_policy, rcps=rcps) == "allow"
    rcps_all = [[policy(deny(Principal="*"))]]
    assert decision("logs.amazonaws.com", key_policy=service_key_policy, rcps=rcps_all) == "explicit_deny"


# §2.27 VPC endpoint policy


def test_vpc_endpoint_policy_must_allow_section_2_27() -> None:
    base = {"key_policy": root_delegation(), "identity_policies": IDENTITY}
    assert checks(run(SESSION, vpc_endpoint_policy=policy(allow("s3:*", Principal="*")), **base)) == [
        ("vpc_endpoint", "no_allow")
    ]
    assert decision(SESSION, vpc_endpoint_policy=policy(allow(Principal="*")), **base) == "allow"
    assert (
        decision(SESSION, vpc_endpoint_policy=policy(allow(), deny("kms:Decrypt")), **base) == "explicit_deny"
    )


# §2.16 NotPrincipal, §2.21 account-level deny


def test_deny_not_principal_hits_principals_with_a_boundary_section_2_16() -> None:
    key_policy = policy(
        allow(Principal={"AWS": ROLE}),
        deny(NotPrincipal={"AWS": [ROLE, f"arn:aws:iam::{A}:root"]}, Sid="OnlyApp"),
    )
    assert decision(SESSION, key_policy=key_policy) == "allow"
    result = run(SESSION, key_policy=key_policy, permissions_boundary=policy(allow()))
    assert result.decision == "explicit_deny"
    assert result.failing_checks[0].statement == "OnlyApp"


def test_account_level_deny_hits_everyone_in_the_account_section_2_21() -> None:
    key_policy = policy(allow(Principal={"AWS": SESSION}), deny("kms:Decrypt", Principal={"AWS": A}))
    assert decision(SESSION, key_policy=key_policy) == "explicit_deny"


def test_service_principal_needs_a_service_statement_section_4_row_35() -> None:
    assert checks(run("logs.amazonaws.com", key_policy=root_delegation())) == [("key_policy", "no_allow")]
    named = run("logs.amazonaws.com", key_policy=policy(allow(Principal={"Service": "logs.amazonaws.com"})))
    assert named.decision == "allow"
    assert named.matched[0].principal_match == "service"


# §2.37 output


def test_every_failing_check_in_aws_order_section_2_37() -> None:
    result = run(
        SESSION,
        key_policy=policy(allow(Principal={"AWS": f"arn:aws:iam::{A}:role/Other"})),
        identity_policies=[policy(allow("s3:*"), deny("kms:Decrypt", Sid="D1"))],
        permissions_boundary=NO_KMS,
        session_policy=NO_KMS,
        scps=[[policy(allow("s3:*"))]],
        vpc_endpoint_policy=policy(allow("s3:*", Principal="*")),
    )
    assert checks(result) == [
        ("identity", "explicit_deny"),
        ("scp", "no_allow"),
        ("vpc_endpoint", "no_allow"),
        ("key_policy", "no_allow"),
        ("identity", "no_allow"),
        ("permissions_boundary", "no_allow"),
        ("session", "no_allow"),
    ]
    assert [m.effect for m in result.matched] == ["Deny"]


def test_misses_say_why_section_2_37() -> None:
    key_policy = policy(
        allow("kms:Encrypt", Principal={"AWS": ROLE}, Sid="WrongAction"),
        allow(
            Principal={"AWS": ROLE},
            Sid="Via",
            Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
        ),
    )
    result = run(SESSION, key_policy=key_policy, context={"kms:ViaService": "ssm.us-east-1.amazonaws.com"})
    by_sid = {miss.statement: miss for miss in result.misses}
    assert by_sid["WrongAction"].element == "action"
    assert by_sid["WrongAction"].actual == ("kms:Decrypt",)
    via = by_sid["Via"]
    assert (via.element, via.operator, via.key) == ("condition", "StringEquals", "kms:ViaService")
    assert via.expected == ("s3.us-east-1.amazonaws.com",)
    assert via.actual == ("ssm.us-east-1.amazonaws.com",)
    absent = run(SESSION, key_policy=key_policy)
    assert next(m for m in absent.misses if m.statement == "Via").actual is None


def test_layers_report_every_layer_interfaces() -> None:
    result = run(SESSION, key_policy=root_delegation(), identity_policies=IDENTITY)
    assert [layer.layer for layer in result.layers] == [
        "identity",
        "key_policy",
        "grants",
        "scp",
        "rcp",
        "permissions_boundary",
        "session",
        "vpc_endpoint",
    ]
    assert [layer.applies for layer in result.layers] == [
        True,
        True,
        False,
        False,
        False,
        False,
        False,
        False,
    ]
    assert result.layer("key_policy").matched[0].principal_match == "account"  # type: ignore[union-attr]


def test_key_policy_resource_star_means_this_key_section_2_15() -> None:
    other_key = policy(allow(Principal={"AWS": ROLE}, resource=KEY_B))
    assert decision(SESSION, key_policy=other_key) == "implicit_deny"
    assert decision(SESSION, key_policy=policy(allow(Principal={"AWS": ROLE}, resource=KEY))) == "allow"


def test_key_state_is_not_an_authorization_failure_section_2_35d() -> None:
    result = run(SESSION, key_policy=root_delegation(), identity_policies=IDENTITY, key={"state": "Disabled"})
    assert result.decision == "allow"
    assert any("Disabled" in note for note in result.notes)


def test_grant_to_an_account_works_like_delegation_unverified_section_2_22() -> None:
    grant = {"GranteePrincipal": f"arn:aws:iam::{A}:root", "Operations": ["Decrypt"]}
    assert checks(run(SESSION, key_policy=policy(), grants=[grant])) == [("identity", "no_allow")]
    assert decision(SESSION, key_policy=policy(), grants=[grant], identity_policies=IDENTITY) == "allow"


def test_sessions_of_one_role_share_plans_but_session_principals_still_distinguish_section_2_16() -> None:
    other = f"arn:aws:sts::{A}:assumed-role/App/other"
    named = policy(allow(Principal={"AWS": SESSION}))
    assert decision(SESSION, key_policy=named) == "allow"
    assert decision(other, key_policy=named) == "implicit_deny"
    by_role = run(other, key_policy=policy(allow(Principal={"AWS": f"arn:aws:iam::{A}:role/Else"})))
    assert next(m for m in by_role.misses if m.element == "principal").actual == (ROLE,)


def test_repeated_evaluation_gives_the_same_result() -> None:
    arguments = {"key_policy": root_delegation(), "identity_policies": IDENTITY, "context": {"k": "v"}}
    first = run(SESSION, **arguments)
    assert run(SESSION, **arguments) == first
    changed = run(SESSION, key_policy=root_delegation(), identity_policies=[policy(allow("s3:*"))])
    assert changed.decision == "implicit_deny"
