"""The key's side read with the reader role in the key's account (moto) — §2 A step 3, §2 D steps 21–22."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.aws.keys import KeyReader, KeyRef, key_ref
from bot.aws.trace import Trace, tracing
from bot.demo.world import World, default_key_policy
from bot.snapshot import KeyFacts, Unseen
from tests.aws.conftest import APP, DATA, REGION
from tests.aws.faults import Faults

READER = f"arn:aws:iam::{DATA}:role/kms-why-reader"


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(16) as executor:
        yield executor


def _ref(text: str) -> KeyRef:
    ref = key_ref(text, None, None, None)
    assert ref is not None
    return ref


def _read(reader: KeyReader, ref: KeyRef | None) -> tuple[KeyFacts, list[Unseen]]:
    assert ref is not None
    facts, unseen = reader.read(ref)
    assert facts is not None
    return facts, unseen


def _reader(world: World, pool: ThreadPoolExecutor, faults: Faults | None = None) -> KeyReader:
    options = {"on_client": faults.hook} if faults else {}
    return KeyReader(world.session_factory(world.settings(), **options).reader(DATA, "t"), pool)


def test_key_facts_policy_text_grants_aliases_and_tags(accounts: World, pool: ThreadPoolExecutor) -> None:
    data = accounts.account(DATA)
    policy = default_key_policy(DATA)
    key = data.create_key(policy, region=REGION, aliases=["orders"], tags={"env": "prod"})
    grant = data.create_grant(
        key,
        f"arn:aws:iam::{APP}:role/App",
        ["Decrypt"],
        constraints={"EncryptionContextSubset": {"tenant": "a"}},
    )
    facts, unseen = _read(_reader(accounts, pool), _ref(key))
    assert unseen == []
    assert (facts.arn, facts.account, facts.region) == (key, DATA, REGION)
    assert (facts.manager, facts.state, facts.multi_region) == ("CUSTOMER", "Enabled", False)
    assert facts.policy == policy
    assert json.loads(facts.policy_text or "") == policy
    assert facts.aliases == ("alias/orders",)
    assert facts.tags == {"env": "prod"}
    (only,) = facts.grants or ()
    assert only["GrantId"] == grant and only["Operations"] == ["Decrypt"]
    assert only["Constraints"] == {"EncryptionContextSubset": {"tenant": "a"}}


@pytest.mark.parametrize("form", ["alias_arn", "alias_name"])
def test_alias_is_resolved_to_its_key_first(accounts: World, pool: ThreadPoolExecutor, form: str) -> None:
    data = accounts.account(DATA)
    key = data.create_key(region=REGION, aliases=["orders"])
    ref = (
        key_ref(f"arn:aws:kms:{REGION}:{DATA}:alias/orders", None, None, None)
        if form == "alias_arn"
        else key_ref(None, "alias/orders", DATA, REGION)
    )
    reader = _reader(accounts, pool)
    trace = Trace()
    with tracing(trace):
        facts, unseen = _read(reader, ref)
    assert unseen == []
    assert facts.arn == key
    assert trace.actions.count("kms:DescribeKey") == 1
    assert trace.round_trips == 2  # DescribeKey, then the rest at once


def test_disabled_and_aws_managed_keys_report_state_and_manager(
    accounts: World, pool: ThreadPoolExecutor
) -> None:
    data = accounts.account(DATA)
    disabled = data.create_key(region=REGION)
    data.disable_key(disabled)
    managed = data.create_aws_managed_key("s3", region=REGION)
    reader = _reader(accounts, pool)
    assert _read(reader, _ref(disabled))[0].state == "Disabled"
    facts, _ = _read(reader, _ref(managed))
    assert facts.manager == "AWS" and facts.policy is not None
    assert (
        facts.policy["Statement"][0]["Condition"]["StringEquals"]["kms:ViaService"]
        == f"s3.{REGION}.amazonaws.com"
    )


def test_key_policy_read_denied_is_unseen_with_the_key_policy_statement_for_the_reader(
    accounts: World, pool: ThreadPoolExecutor, faults: Faults
) -> None:
    key = accounts.account(DATA).create_key(region=REGION)
    faults.fail(
        "kms",
        "GetKeyPolicy",
        code="AccessDeniedException",
        message=f"User: {READER}/kms-why-t is not authorized to perform: kms:GetKeyPolicy",
    )
    facts, unseen = _read(_reader(accounts, pool, faults), _ref(key))
    assert facts.policy is None and facts.policy_text is None
    assert facts.grants is not None and facts.state == "Enabled"  # the rest was still read
    (entry,) = unseen
    assert entry.what == "key_policy" and entry.remedy_statement is not None and entry.remedy
    assert "GetKeyPolicy" in entry.reason and "AccessDeniedException" in entry.reason
    assert entry.remedy_statement["Principal"] == {"AWS": READER}
    assert "kms:GetKeyPolicy" in entry.remedy_statement["Action"]
    assert "kms:Decrypt" not in entry.remedy_statement["Action"]  # reading, never using, the key
    assert key in entry.remedy


def test_grants_read_denied_is_unseen_not_empty(
    accounts: World, pool: ThreadPoolExecutor, faults: Faults
) -> None:
    key = accounts.account(DATA).create_key(region=REGION)
    faults.fail("kms", "ListGrants")
    facts, unseen = _read(_reader(accounts, pool, faults), _ref(key))
    assert facts.grants is None
    assert [u.what for u in unseen] == ["grants"]


def test_key_missing_in_that_region_is_reported_as_not_found(
    accounts: World, pool: ThreadPoolExecutor
) -> None:
    key = accounts.account(DATA).create_key(region=REGION)
    elsewhere = key.replace(REGION, "eu-west-1")
    facts, unseen = _read(_reader(accounts, pool), _ref(elsewhere))
    assert facts.not_found is True and facts.policy is None
    assert [u.what for u in unseen] == ["key_state"]
    assert "NotFoundException" in unseen[0].reason


def test_key_policy_and_grants_are_read_fresh_every_time(accounts: World, pool: ThreadPoolExecutor) -> None:
    data = accounts.account(DATA)
    key = data.create_key(region=REGION)
    reader = _reader(accounts, pool)
    before, _ = _read(reader, _ref(key))
    fixed = {
        **default_key_policy(DATA),
        "Statement": [
            *default_key_policy(DATA)["Statement"],
            {
                "Sid": "App",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{APP}:role/App"},
                "Action": "kms:Decrypt",
                "Resource": "*",
            },
        ],
    }
    data.put_key_policy(key, fixed)
    data.create_grant(key, f"arn:aws:iam::{APP}:role/App", ["Encrypt"])
    after, _ = _read(reader, _ref(key))
    assert before.policy != fixed and after.policy == fixed
    assert before.grants == () and after.grants is not None and len(after.grants) == 1


def test_key_ref_uses_the_arn_or_the_callers_account_for_an_id() -> None:
    arn = f"arn:aws:kms:{REGION}:{DATA}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    named = key_ref(arn, "1234abcd-12ab-34cd-56ef-1234567890ab", APP, "us-east-1")
    assert named is not None and named.account == DATA
    bare = key_ref(None, "1234abcd-12ab-34cd-56ef-1234567890ab", APP, REGION)
    assert (
        bare is not None
        and bare.key_arn == f"arn:aws:kms:{REGION}:{APP}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
    assert key_ref(None, "1234abcd", None, REGION) is None  # no account: nothing to guess from


def test_every_read_denied_offers_the_key_policy_statement_once(
    accounts: World, pool: ThreadPoolExecutor, faults: Faults
) -> None:
    key = accounts.account(DATA).create_key(region=REGION)
    for operation in ("DescribeKey", "GetKeyPolicy", "ListGrants", "ListAliases", "ListResourceTags"):
        faults.fail("kms", operation)
    facts, unseen = _read(_reader(accounts, pool, faults), _ref(key))
    assert facts is not None and facts.state is None and facts.policy is None and facts.grants is None
    assert [u.what for u in unseen] == [
        "key_state",
        "key_policy",
        "grants",
        "kms:ResourceAliases",
        "aws:ResourceTag",
    ]
    assert [u.what for u in unseen if u.remedy_statement] == ["key_policy"]
    assert all("key_policy" in (u.remedy or "") for u in unseen if u.what != "key_policy")


def test_multi_region_primary_is_reported(accounts: World, pool: ThreadPoolExecutor) -> None:
    key = accounts.account(DATA).create_key(region=REGION, multi_region=True)
    facts, _ = _read(_reader(accounts, pool), _ref(key))
    assert facts is not None and facts.multi_region is True
    assert facts.key_id.startswith("mrk-") and facts.multi_region_primary_arn == key
