"""One test per cause code the diagnosis emits (kms-evaluation.md §4), on hand-built snapshots."""

from __future__ import annotations

from bot.diagnosis.diagnose import diagnose
from bot.diagnosis.models import Diagnosis
from bot.snapshot import NamedPolicy, OrgFacts, TrailEvidence, Unseen
from tests.diagnosis.builders import (
    ADMIN,
    APP,
    DATA,
    admins,
    allow,
    denial,
    inline,
    key,
    key_arn,
    names,
    policy,
    principal,
    role_arn,
    root,
    session_arn,
    snapshot,
)


def lock(d: Diagnosis, layer: str) -> bool | None:
    return next(found.allows for found in d.locks if found.layer == layer)


def kinds(d: Diagnosis) -> list[str]:
    return [fix.kind for fix in d.fixes]


def test_row_1_same_account_iam_lacks_action() -> None:
    d = diagnose(
        denial(kind="no_identity_allow"),
        snapshot(principal(policies=(inline("s3", allow("s3:*")),)), key(policy(root(APP)))),
    )
    assert (d.cause.catalogue, d.cause.code) == (1, "iam_policy_missing_allow")
    assert lock(d, "identity") is False and lock(d, "key_policy") is True
    assert kinds(d) == ["iam_policy_patch"]
    assert d.fixes[0].statement == {
        "Sid": "KmsWhyMyRole",
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": key_arn(),
    }
    assert d.fixes[0].verified


def test_row_2_no_root_delegation_and_role_not_named() -> None:
    d = diagnose(denial(), snapshot(principal(), key(policy(admins()))))
    assert d.verdict == "implicit_deny"
    assert (d.cause.catalogue, d.cause.code) == (2, "key_policy_missing_principal_no_root_delegation")
    assert "MyRole" in d.cause.summary
    assert [(x.layer, x.allows, x.policy) for x in d.locks[:2]] == [
        ("identity", True, "arn:aws:iam::aws:policy/AdministratorAccess"),
        ("key_policy", False, key_arn()),
    ]
    assert kinds(d) == ["key_policy_patch", "key_policy_patch"]
    assert all(fix.verified for fix in d.fixes)
    assert d.fixes[1].blast_radius and "Every IAM principal of account" in d.fixes[1].blast_radius
    assert d.unseen == () and not d.cross_account


def test_row_3_cross_account_key_policy_does_not_name_caller() -> None:
    d = diagnose(
        denial(resource=key_arn(DATA)),
        snapshot(
            principal(policies=(inline("kms", allow("kms:Decrypt", key_arn(DATA))),)),
            key(policy(root(DATA)), DATA),
        ),
    )
    assert (d.cause.catalogue, d.cause.code) == (3, "cross_account_key_policy_missing_caller")
    assert d.cross_account and (d.principal_account, d.key_account) == (APP, DATA)
    assert APP in d.cause.summary and DATA in d.cause.summary
    assert kinds(d) == ["key_policy_patch"] and d.fixes[0].verified
    assert '"AWS": "arn:aws:iam::111122223333:role/MyRole"' in (d.fixes[0].diff or "")


def test_row_3_also_missing_iam_offers_both_and_proves_them_together() -> None:
    d = diagnose(
        denial(resource=key_arn(DATA)),
        snapshot(principal(policies=(inline("s3", allow("s3:*")),)), key(policy(root(DATA)), DATA)),
    )
    assert d.cause.catalogue == 3
    assert kinds(d) == ["key_policy_patch", "iam_policy_patch"]
    assert d.fixes[0].verified and "together with the IAM statement" in d.fixes[0].summary
    assert not d.fixes[1].verified


def test_row_4_cross_account_iam_side() -> None:
    d = diagnose(
        denial(resource=key_arn(DATA), kind="no_identity_allow", service="s3"),
        snapshot(
            principal(policies=(inline("s3", allow("s3:GetObject")),)),
            key(policy(root(DATA), root(APP, "App")), DATA),
        ),
    )
    assert (d.cause.catalogue, d.cause.code) == (4, "cross_account_iam_policy_missing_allow")
    assert lock(d, "key_policy") is True and lock(d, "identity") is False
    assert kinds(d) == ["iam_policy_patch"] and d.fixes[0].verified
    assert d.fixes[0].statement is not None and d.fixes[0].statement["Resource"] == key_arn(DATA)


def test_row_5_key_policy_explicit_deny() -> None:
    deny = {
        "Sid": "DenyOthers",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "kms:*",
        "Resource": "*",
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": role_arn("KeyAdmin")}},
    }
    d = diagnose(denial(kind="explicit_deny_resource"), snapshot(principal(), key(policy(root(APP), deny))))
    assert (d.verdict, d.cause.catalogue, d.cause.code) == ("explicit_deny", 5, "key_policy_explicit_deny")
    assert next(x for x in d.locks if x.layer == "key_policy").statement == "DenyOthers"
    assert "key_policy_patch" not in kinds(d)


def test_row_6_identity_explicit_deny() -> None:
    deny = inline("guard", {"Sid": "NoKms", "Effect": "Deny", "Action": "kms:*", "Resource": "*"})
    d = diagnose(
        denial(kind="explicit_deny_identity"),
        snapshot(principal(policies=(ADMIN, deny)), key(policy(root(APP)))),
    )
    assert (d.cause.catalogue, d.cause.code) == (6, "identity_policy_explicit_deny")
    assert "key_policy_patch" not in kinds(d)


def _org(
    scps: tuple[tuple[NamedPolicy, ...], ...] = (), rcps: tuple[tuple[NamedPolicy, ...], ...] = ()
) -> OrgFacts:
    return OrgFacts(management_account="999988887777", scps=scps, rcps=rcps)


FULL = NamedPolicy(
    name="FullAWSAccess",
    arn="arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess",
    kind="scp",
    document=policy(allow("*")),
)


def test_row_7_scp_explicit_deny_names_the_policy_and_owner() -> None:
    lock_regions = NamedPolicy(
        name="DenyOutsideRegions",
        kind="scp",
        arn="arn:aws:organizations::999988887777:policy/o-abc/service_control_policy/p-12345",
        document=policy(
            {
                "Sid": "RegionLock",
                "Effect": "Deny",
                "NotAction": "iam:*",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}},
            }
        ),
    )
    d = diagnose(
        denial(kind="explicit_deny_scp"),
        snapshot(principal(), key(policy(root(APP))), org=_org(scps=((FULL,), (FULL, lock_regions)))),
    )
    assert (d.verdict, d.cause.catalogue, d.cause.code) == ("explicit_deny", 7, "scp_explicit_deny")
    scp = next(x for x in d.locks if x.layer == "scp")
    assert (scp.allows, scp.statement) == (False, "RegionLock") and scp.policy == lock_regions.arn
    assert kinds(d) == ["org_policy_change"]
    assert "p-12345" in d.fixes[0].summary and "999988887777" in d.fixes[0].summary


def test_row_8_scp_allow_list_gap() -> None:
    only_s3 = NamedPolicy(name="AllowS3", kind="scp", document=policy(allow("s3:*")))
    d = diagnose(
        denial(kind="explicit_deny_scp"),
        snapshot(principal(), key(policy(root(APP))), org=_org(scps=((FULL,), (only_s3,)))),
    )
    assert (d.verdict, d.cause.catalogue, d.cause.code) == ("implicit_deny", 8, "scp_allow_list_gap")
    assert kinds(d) == ["org_policy_change"]


def test_row_9_rcp_deny() -> None:
    perimeter = NamedPolicy(
        name="DataPerimeter",
        kind="rcp",
        document=policy(
            {
                "Sid": "OnlyOurAccounts",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "kms:*",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalAccount": [DATA]}},
            }
        ),
    )
    d = diagnose(
        denial(resource=key_arn(DATA), kind="explicit_deny_rcp"),
        snapshot(
            principal(), key(policy(root(DATA), root(APP, "App")), DATA), org=_org(rcps=((perimeter,),))
        ),
    )
    assert (d.cause.catalogue, d.cause.code) == (9, "rcp_denies")
    assert kinds(d) == ["org_policy_change"]


def test_row_10_permissions_boundary() -> None:
    boundary = NamedPolicy(
        name="DevBoundary",
        arn=f"arn:aws:iam::{APP}:policy/DevBoundary",
        kind="boundary",
        document=policy(allow(["s3:*", "logs:*"])),
    )
    d = diagnose(
        denial(kind="no_boundary_allow"), snapshot(principal(boundary=boundary), key(policy(root(APP))))
    )
    assert (d.cause.catalogue, d.cause.code) == (10, "permissions_boundary_missing_allow")
    assert lock(d, "permissions_boundary") is False
    assert kinds(d) == ["iam_policy_patch"] and d.fixes[0].verified
    assert "DevBoundary" in d.fixes[0].summary


def test_row_13_key_policy_requires_via_service_but_called_directly() -> None:
    via = {"StringEquals": {"kms:ViaService": "s3.ap-northeast-1.amazonaws.com"}}
    d = diagnose(
        denial(),
        snapshot(principal(), key(policy(admins(), names(role_arn(), "kms:Decrypt", Condition=via)))),
    )
    assert (d.cause.catalogue, d.cause.code) == (13, "key_policy_requires_via_service")
    assert "s3.ap-northeast-1.amazonaws.com" in d.cause.summary
    assert kinds(d) == ["other", "key_policy_patch"]
    assert d.fixes[1].blast_radius and "directly" in d.fixes[1].blast_radius


def test_row_14_via_service_wrong_region_extends_the_condition() -> None:
    via = {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    d = diagnose(
        denial(service="s3"),
        snapshot(principal(), key(policy(admins(), names(role_arn(), "kms:Decrypt", Condition=via)))),
    )
    assert (d.cause.catalogue, d.cause.code) == (14, "key_policy_via_service_mismatch")
    assert kinds(d) == ["key_policy_patch"] and d.fixes[0].verified
    added = [line for line in (d.fixes[0].diff or "").splitlines() if line.startswith("+")]
    assert any('"s3.ap-northeast-1.amazonaws.com"' in line for line in added)


def test_row_15_caller_account_restricted() -> None:
    statement = {
        "Sid": "UseWithinOrg",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:CallerAccount": DATA}},
    }
    d = diagnose(
        denial(resource=key_arn(DATA)), snapshot(principal(), key(policy(root(DATA), statement), DATA))
    )
    assert (d.cause.catalogue, d.cause.code) == (15, "key_policy_caller_account_restricted")
    assert kinds(d) == ["key_policy_patch"]
    assert d.fixes[0].policy_after is not None
    assert d.fixes[0].policy_after["Statement"][1]["Condition"]["StringEquals"]["kms:CallerAccount"] == [
        DATA,
        APP,
    ]


def test_row_16_aws_managed_key_cross_account_is_reencrypt_never_a_patch() -> None:
    managed = policy(
        {
            "Sid": "ViaS3",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:CallerAccount": DATA,
                    "kms:ViaService": "s3.ap-northeast-1.amazonaws.com",
                }
            },
        }
    )
    d = diagnose(
        denial(resource=key_arn(DATA), service="s3"), snapshot(principal(), key(managed, DATA, manager="AWS"))
    )
    assert (d.cause.catalogue, d.cause.code) == (16, "aws_managed_key_cross_account")
    assert d.key_manager == "AWS" and d.cross_account and lock(d, "key_policy") is False
    assert kinds(d) == ["reencrypt"]


def test_row_17_aws_managed_key_called_directly() -> None:
    managed = policy(
        {
            "Sid": "ViaS3",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:CallerAccount": APP,
                    "kms:ViaService": "s3.ap-northeast-1.amazonaws.com",
                }
            },
        }
    )
    d = diagnose(denial(), snapshot(principal(), key(managed, manager="AWS")))
    assert (d.cause.catalogue, d.cause.code) == (17, "aws_managed_key_direct_use")
    assert kinds(d) == ["reencrypt"]


def test_row_18_encryption_context_from_cloudtrail_does_not_match() -> None:
    pinned = {"StringEquals": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::bucket/reports/q1.csv"}}
    trail = TrailEvidence(
        event_id="ev-1",
        event_time="2026-11-28T09:00:00Z",
        encryption_context={"aws:s3:arn": "arn:aws:s3:::bucket"},
        invoked_by="s3.amazonaws.com",
    )
    d = diagnose(
        denial(service=None),
        snapshot(
            principal(),
            key(policy(admins(), names(role_arn(), "kms:Decrypt", Condition=pinned))),
            trail=trail,
        ),
    )
    assert (d.cause.catalogue, d.cause.code) == (18, "encryption_context_condition_mismatch")
    assert any("CloudTrail" in item for item in d.inferred)


def test_row_20_invalid_ciphertext_short_circuits() -> None:
    d = diagnose(
        denial(kind="invalid_ciphertext", error_code="InvalidCiphertextException"),
        snapshot(principal(), key(policy(root(APP)))),
    )
    assert (d.cause.catalogue, d.cause.code) == (20, "invalid_ciphertext")
    assert d.verdict == "allow" and lock(d, "key_state") is False
    assert "key_policy_patch" not in kinds(d)


def test_row_21_principal_org_id_deny() -> None:
    deny = {
        "Sid": "DenyOutsideOrg",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "kms:*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}},
    }
    d = diagnose(denial(kind="explicit_deny_resource"), snapshot(principal(), key(policy(root(APP), deny))))
    assert (d.cause.catalogue, d.cause.code) == (21, "principal_org_id_condition")
    assert "aws:PrincipalOrgID" in d.unseen


def test_row_22_source_vpce_deny_with_trail_showing_public_ip() -> None:
    deny = {
        "Sid": "OnlyThroughEndpoint",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "kms:*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0abc"}},
    }
    trail = TrailEvidence(event_id="ev-2", event_time="2026-11-28T09:00:00Z", source_ip="203.0.113.9")
    d = diagnose(
        denial(kind="explicit_deny_resource"),
        snapshot(principal(), key(policy(root(APP), deny)), trail=trail),
    )
    assert (d.cause.catalogue, d.cause.code) == (22, "network_condition")


def test_row_23_dangling_unique_id_is_replaced_by_the_role_arn() -> None:
    d = diagnose(
        denial(),
        snapshot(
            principal(),
            key(policy(admins(), names("AROAZ3XAMPLE7EXAMPLE1", ["kms:Decrypt", "kms:DescribeKey"]))),
        ),
    )
    assert (d.cause.catalogue, d.cause.code) == (23, "key_policy_dangling_unique_id")
    assert kinds(d) == ["key_policy_patch"] and d.fixes[0].verified
    after = d.fixes[0].policy_after
    assert after is not None and after["Statement"][1]["Principal"] == {"AWS": role_arn()}
    assert len(after["Statement"]) == 2


def test_row_25_key_policy_names_an_old_session() -> None:
    d = diagnose(
        denial(),
        snapshot(principal(), key(policy(admins(), names(session_arn(session="bob"), "kms:Decrypt")))),
    )
    assert (d.cause.catalogue, d.cause.code) == (25, "key_policy_names_session")
    assert kinds(d) == ["key_policy_patch"] and d.fixes[0].verified


def test_row_26_iam_policy_names_the_alias_not_the_key_arn() -> None:
    alias = f"arn:aws:kms:ap-northeast-1:{APP}:alias/payments"
    d = diagnose(
        denial(kind="no_identity_allow"),
        snapshot(principal(policies=(inline("kms", allow("kms:Decrypt", alias)),)), key(policy(root(APP)))),
    )
    assert (d.cause.catalogue, d.cause.code) == (26, "iam_policy_resource_not_key_arn")
    assert alias in d.cause.summary
    assert kinds(d) == ["iam_policy_patch"] and d.fixes[0].verified


def test_row_28_key_policy_grants_encrypt_but_not_decrypt() -> None:
    d = diagnose(denial(), snapshot(principal(), key(policy(admins(), names(role_arn(), ["kms:Encrypt"])))))
    assert (d.cause.catalogue, d.cause.code) == (28, "missing_workflow_action")
    assert "kms:Encrypt" in d.cause.summary
    assert kinds(d)[0] == "key_policy_patch" and d.fixes[0].verified


def test_row_28_iam_side_lacks_generate_data_key() -> None:
    d = diagnose(
        denial("kms:GenerateDataKey", kind="no_identity_allow", service="s3"),
        snapshot(
            principal(policies=(inline("kms", allow("kms:Decrypt", key_arn())),)), key(policy(root(APP)))
        ),
    )
    assert (d.cause.catalogue, d.cause.code) == (28, "missing_workflow_action")
    assert kinds(d) == ["iam_policy_patch"] and d.fixes[0].verified


def test_row_29_create_grant_missing() -> None:
    d = diagnose(denial("kms:CreateGrant"), snapshot(principal(), key(policy(admins()))))
    assert (d.cause.catalogue, d.cause.code) == (29, "create_grant_missing")
    after = d.fixes[0].policy_after
    assert after is not None and after["Statement"][-1]["Condition"] == {
        "Bool": {"kms:GrantIsForAWSResource": "true"}
    }


def test_row_30_grant_exists_for_other_operations() -> None:
    grant = {
        "GrantId": "g-1",
        "GranteePrincipal": role_arn(),
        "Operations": ["Encrypt", "GenerateDataKey"],
        "KeyId": key_arn(),
    }
    d = diagnose(denial(), snapshot(principal(), key(policy(admins()), grants=(grant,))))
    assert (d.cause.catalogue, d.cause.code) == (30, "grant_does_not_apply")
    assert lock(d, "grants") is False
    assert "Decrypt" in d.cause.summary
    assert kinds(d) == ["other", "key_policy_patch"]


def test_row_31_operation_not_usable_cross_account() -> None:
    d = diagnose(
        denial("kms:PutKeyPolicy", resource=key_arn(DATA)),
        snapshot(principal(), key(policy(root(DATA), root(APP, "App")), DATA)),
    )
    assert (d.cause.catalogue, d.cause.code) == (31, "cross_account_operation_unsupported")
    assert "key_policy_patch" not in kinds(d)


def test_row_33_disabled_key_is_a_key_state_lock_with_the_policies_verdict() -> None:
    d = diagnose(
        denial(principal_arn=session_arn(), kind="key_state", error_code="DisabledException"),
        snapshot(principal(), key(policy(root(APP)), state="Disabled")),
    )
    assert (d.cause.catalogue, d.cause.code) == (33, "key_disabled")
    assert d.verdict == "allow"
    assert lock(d, "key_state") is False and lock(d, "key_policy") is True
    assert kinds(d) == ["other"] and "enable-key" in d.fixes[0].commands[0]


def test_row_33_pending_deletion_and_wrong_region() -> None:
    pending = diagnose(
        denial(kind="key_state", error_code="KMSInvalidStateException"),
        snapshot(principal(), key(policy(admins()), state="PendingDeletion")),
    )
    assert (pending.cause.catalogue, pending.cause.code) == (33, "key_pending_deletion")
    assert pending.verdict == "implicit_deny" and lock(pending, "key_state") is False
    assert "key_policy_patch" not in kinds(pending)
    missing = diagnose(
        denial(kind="key_state", error_code="NotFoundException"),
        snapshot(principal(), key(policy(root(APP)))),
    )
    assert (missing.cause.catalogue, missing.cause.code) == (33, "key_not_found_wrong_region")


def test_row_34_not_principal_deny_hits_a_role_with_a_boundary() -> None:
    boundary = NamedPolicy(
        name="B", arn=f"arn:aws:iam::{APP}:policy/B", kind="boundary", document=policy(allow("*"))
    )
    deny = {
        "Sid": "OnlyAdmins",
        "Effect": "Deny",
        "NotPrincipal": {"AWS": [role_arn(), role_arn("KeyAdmin")]},
        "Action": "kms:*",
        "Resource": "*",
    }
    d = diagnose(
        denial(kind="explicit_deny_resource"),
        snapshot(principal(boundary=boundary), key(policy(root(APP), deny))),
    )
    assert (d.cause.catalogue, d.cause.code) == (34, "deny_not_principal_with_boundary")


def test_evidence_disagrees_when_everything_read_allows() -> None:
    d = diagnose(denial(), snapshot(principal(), key(policy(root(APP)))))
    assert (d.verdict, d.cause.catalogue, d.cause.code) == ("allow", 0, "evidence_disagrees")
    assert "session" in d.unseen and "vpc_endpoint" in d.unseen
    assert "key_policy_patch" not in kinds(d)


def test_redacted_account_is_a_question_back() -> None:
    d = diagnose(
        denial(
            principal_arn="arn:aws:sts::xxxxxxxxxxxx:assumed-role/MyRole/alice",
            resource="arn:aws:kms:ap-northeast-1:xxxxxxxxxxxx:key/abc",
        ),
        snapshot(None, None),
    )
    assert d.cause.code == "redacted_account" and d.question and "xxxxxxxxxxxx" in d.question
    assert {x.layer: x.allows for x in d.locks} == {"identity": None, "key_policy": None}


def test_key_policy_unreadable_is_unseen_not_guessed() -> None:
    unseen = Unseen(
        what="key_policy",
        reason="GetKeyPolicy was denied to kms-why-reader",
        remedy="add kms:GetKeyPolicy for the reader role to the key policy",
    )
    d = diagnose(denial(), snapshot(principal(), key(None), unseen=(unseen,)))
    assert lock(d, "key_policy") is None and "key_policy" in d.unseen
    assert d.cause.code == "evidence_disagrees" and d.verdict == "allow"
    assert any("GetKeyPolicy" in detail for detail in d.unseen_details)
    assert "key_policy_patch" not in kinds(d)


def test_row_13_path_unknown_says_both_outcomes() -> None:
    via = {"StringEquals": {"kms:ViaService": "s3.ap-northeast-1.amazonaws.com"}}
    d = diagnose(
        denial(service=None),
        snapshot(principal(), key(policy(admins(), names(role_arn(), "kms:Decrypt", Condition=via)))),
    )
    assert (d.cause.catalogue, d.cause.code) == (13, "key_policy_via_service_path_unknown")
    assert "kms:ViaService" in d.unseen
    assert all(lock.layer in d.unseen for lock in d.locks if lock.allows is None)
    assert "key_policy_patch" not in kinds(d)


def test_row_24_identity_center_role_with_a_new_suffix() -> None:
    path = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/ap-northeast-1/"
    sso, old = path + "AWSReservedSSO_DataEng_1a2b3c", path + "AWSReservedSSO_DataEng_9f8e7d"
    facts = principal(role="AWSReservedSSO_DataEng_1a2b3c").model_copy(update={"role_arn": sso})
    d = diagnose(
        denial(principal_arn=session_arn("AWSReservedSSO_DataEng_1a2b3c")),
        snapshot(facts, key(policy(admins(), names(old, ["kms:Decrypt"])))),
    )
    assert (d.cause.catalogue, d.cause.code) == (24, "identity_center_role_mismatch")
    patch = d.fixes[0]
    assert patch.kind == "key_policy_patch" and patch.verified
    assert patch.policy_after is not None
    added = patch.policy_after["Statement"][-1]
    assert added["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    assert added["Condition"]["ArnLike"]["aws:PrincipalArn"].endswith("/AWSReservedSSO_DataEng_*")


def test_row_27_iam_names_the_primary_of_a_multi_region_key() -> None:
    replica = key_arn(key_id="mrk-1234abcd")
    primary = "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd"
    facts = key(policy(root(APP))).model_copy(
        update={"arn": replica, "key_id": "mrk-1234abcd", "multi_region": True}
    )
    d = diagnose(
        denial(resource=replica, kind="no_identity_allow"),
        snapshot(principal(policies=(inline("kms", allow("kms:Decrypt", primary)),)), facts),
    )
    assert (d.cause.catalogue, d.cause.code) == (27, "multi_region_replica_arn")
    assert kinds(d) == ["iam_policy_patch"] and d.fixes[0].verified
    assert d.fixes[0].statement is not None and d.fixes[0].statement["Resource"] == replica


def test_describe_key_denied_leaves_key_state_unseen() -> None:
    unseen = Unseen(what="key_state", reason="DescribeKey was denied to kms-why-reader")
    d = diagnose(denial(), snapshot(principal(), key(policy(admins()), state="Enabled"), unseen=(unseen,)))
    assert lock(d, "key_state") is None and "key_state" in d.unseen
    assert d.cause.catalogue == 2


def test_opaque_error_without_a_key_asks_which_key() -> None:
    d = diagnose(denial(resource="", kind="key_not_found_or_denied"), snapshot(principal(), None))
    assert d.cause.code == "key_unknown" and d.question and "key ARN" in d.question
    assert "key_policy" in d.unseen and lock(d, "key_policy") is None


def test_caller_missing_from_a_non_lookalike_paste_asks_who() -> None:
    d = diagnose(denial(principal_arn=""), snapshot(None, key(policy(admins()))))
    assert d.cause.code == "caller_unknown" and d.question and "role or user" in d.question
