"""The management-account exemption reaches the engine, and a key DescribeKey could not find is the
wrong-Region / deleted-key answer (kms-evaluation.md §2 steps 5 and 23, §4 rows 8 and 33)."""

from __future__ import annotations

from bot.diagnosis.diagnose import diagnose
from bot.diagnosis.document import build
from bot.snapshot import KeyFacts, NamedPolicy, OrgFacts
from tests.diagnosis.builders import APP, TOKYO, allow, denial, key_arn, policy, principal, root, snapshot

ONLY_S3 = NamedPolicy(name="AllowS3", kind="scp", document=policy(allow("s3:*")))


def test_management_account_goes_into_the_document_and_exempts_its_principals_from_scps() -> None:
    org = OrgFacts(management_account=APP, scps=((ONLY_S3,),), rcps=())
    snap = snapshot(principal(), _key(), org=org)
    assert build(denial(kind="no_identity_allow"), snap).document.management_account == APP
    d = diagnose(denial(kind="no_identity_allow"), snap)
    assert d.cause.code != "scp_allow_list_gap"
    assert all(lock.allows is not False for lock in d.locks if lock.layer == "scp")


def test_a_member_account_is_still_held_by_the_same_scp() -> None:
    org = OrgFacts(management_account="999988887777", scps=((ONLY_S3,),), rcps=())
    d = diagnose(denial(kind="explicit_deny_scp"), snapshot(principal(), _key(), org=org))
    assert (d.cause.catalogue, d.cause.code) == (8, "scp_allow_list_gap")


def test_key_not_found_in_its_region_is_row_33_even_from_the_vague_form() -> None:
    arn = key_arn()
    missing = KeyFacts(arn=arn, key_id=arn.rsplit("/", 1)[1], account=APP, region=TOKYO, not_found=True)
    d = diagnose(denial(kind="key_not_found_or_denied"), snapshot(principal(), missing))
    assert (d.cause.catalogue, d.cause.code) == (33, "key_not_found_wrong_region")
    state = next(lock for lock in d.locks if lock.layer == "key_state")
    assert state.allows is False and "DescribeKey found no such key" in (state.explain or "")
    assert "key_policy_patch" not in [fix.kind for fix in d.fixes]


def test_a_key_that_exists_with_the_vague_form_is_weighed_by_the_policies() -> None:
    d = diagnose(denial(kind="key_not_found_or_denied"), snapshot(principal(), _key()))
    assert d.cause.code != "key_not_found_wrong_region"


def _key() -> KeyFacts:
    arn = key_arn()
    return KeyFacts(
        arn=arn, key_id=arn.rsplit("/", 1)[1], account=APP, region=TOKYO, manager="CUSTOMER",
        state="Enabled", policy=policy(root(APP)), grants=(),
    )


def test_merged_session_policies_that_allow_keep_session_unseen() -> None:
    """§2 step 26: the union of several session policies allowing does not prove their intersection does."""
    merged = NamedPolicy(name="session policies of MyRole/alice (A, B)", kind="session",
                         document=policy(allow("kms:*")))
    snap = snapshot(principal(), _key()).model_copy(
        update={"session_policy": merged, "session_policy_known": True, "session_policy_merged": True})
    d = diagnose(denial(), snap)
    assert d.cause.code == "evidence_disagrees" and "session" in d.unseen
    single = snap.model_copy(update={"session_policy_merged": False})
    assert "session" not in diagnose(denial(), single).unseen
