"""collect(): every read at once, round trips cold and warm, and each degraded path as an Unseen."""

from __future__ import annotations

import pytest

from bot.aws.collect import collect, redaction
from bot.aws.sessions import SessionFactory
from bot.demo.world import ADMINISTRATOR_ACCESS, World
from bot.parse.models import Denial
from tests.aws.conftest import APP, DATA, MGMT, REGION
from tests.aws.faults import Faults

SESSION = f"arn:aws:sts::{APP}:assumed-role/App/i-0abc"
KMS_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}


@pytest.fixture
def cross_account(accounts: World) -> str:
    """App (in APP, managed + inline policies and a boundary) denied on a key in DATA; an organization."""
    app = accounts.account(APP)
    boundary = app.create_policy("Boundary", KMS_ALL)
    mine = app.create_policy("UseKeys", KMS_ALL)
    app.create_role(
        "App",
        managed_policies=[ADMINISTRATOR_ACCESS, mine],
        inline_policies={"k": KMS_ALL},
        boundary=boundary,
    )
    org = accounts.organization(MGMT)
    org.create_org_reader_role()
    org.add_account(APP, ou_id=org.create_ou("Workloads"))
    org.add_account(DATA)
    return accounts.account(DATA).create_key(region=REGION, aliases=["orders"])


def _denial(key: str | None, **fields: object) -> Denial:
    return Denial.model_validate(
        {
            "action": "kms:Decrypt",
            "principal_arn": SESSION,
            "resource_arn": key,
            "denial_kind": "no_resource_allow",
            **fields,
        }
    )


def test_cold_is_at_most_four_round_trips_and_warm_at_most_two(accounts: World, cross_account: str) -> None:
    settings = accounts.settings(org_role_arn=f"arn:aws:iam::{MGMT}:role/kms-why-org-reader")
    sessions = accounts.session_factory(settings)
    cold = collect(_denial(cross_account), settings, request_id="r1", sessions=sessions)
    assert cold.unseen == ()
    assert cold.principal is not None and len(cold.principal.identity_policies or ()) == 3
    assert cold.key is not None and cold.key.policy is not None and cold.key.grants == ()
    assert cold.org is not None and len(cold.org.scps or ()) == 3 and len(cold.org.rcps or ()) == 2
    assert cold.round_trips <= 4
    warm = collect(_denial(cross_account), settings, request_id="r2", sessions=sessions)
    assert warm.round_trips <= 2
    assert warm.aws_calls < cold.aws_calls
    assert warm.model_dump(exclude={"aws_calls", "round_trips"}) == cold.model_dump(
        exclude={"aws_calls", "round_trips"}
    )


def test_reader_assume_denied_in_the_keys_account_is_unseen_with_the_trust_statement(
    accounts: World, cross_account: str, faults: Faults
) -> None:
    faults.fail(
        "sts",
        "AssumeRole",
        code="AccessDenied",
        message="not authorized to perform: sts:AssumeRole",
        when=lambda params: DATA in str(params.get("RoleArn")),
    )
    settings = accounts.settings(reader_external_id="ext-1")
    snapshot = collect(
        _denial(cross_account),
        settings,
        request_id="r",
        sessions=accounts.session_factory(settings, on_client=faults.hook),
    )
    assert snapshot.key is None
    assert snapshot.principal is not None and snapshot.principal.identity_policies is not None
    assert [u.what for u in snapshot.unseen] == ["key_policy", "grants"]
    assert [a for _, a in faults.operations].count("sts:AssumeRole") == 2  # once per account, not retried
    entry = snapshot.unseen[0]
    assert f"arn:aws:iam::{DATA}:role/kms-why-reader" in entry.reason and "AccessDenied" in entry.reason
    bot = (
        accounts.base_session().client("sts", endpoint_url=accounts.endpoint_url).get_caller_identity()["Arn"]
    )
    assert entry.remedy_statement == {
        "Effect": "Allow",
        "Principal": {"AWS": bot},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "ext-1"}},
    }


def test_key_policy_read_denied_still_collects_everything_else(
    accounts: World, cross_account: str, faults: Faults
) -> None:
    faults.fail("kms", "GetKeyPolicy")
    settings = accounts.settings()
    snapshot = collect(
        _denial(cross_account),
        settings,
        request_id="r",
        sessions=accounts.session_factory(settings, on_client=faults.hook),
    )
    assert snapshot.key is not None and snapshot.key.policy is None and snapshot.key.grants == ()
    assert [u.what for u in snapshot.unseen] == ["key_policy"]
    assert snapshot.unseen[0].remedy_statement is not None


def test_missing_role_is_unseen_identity(accounts: World) -> None:
    key = accounts.account(DATA).create_key(region=REGION)
    settings = accounts.settings()
    snapshot = collect(_denial(key), settings, request_id="r", sessions=accounts.session_factory(settings))
    assert snapshot.principal is not None and snapshot.principal.identity_policies is None
    assert [u.what for u in snapshot.unseen] == ["identity"]
    assert "does not exist" in snapshot.unseen[0].reason


@pytest.mark.parametrize("placeholder", ["xxxxxxxxxxxx", "<account-id>", "{account}", "************", "XXXX"])
def test_redacted_accounts_make_no_call_and_say_what_is_missing(world: World, placeholder: str) -> None:
    denial = _denial(
        f"arn:aws:kms:{REGION}:{placeholder}:key/abc-123",
        principal_arn=f"arn:aws:sts::{placeholder}:assumed-role/App/s",
        account=placeholder,
    )
    settings = world.settings()
    snapshot = collect(denial, settings, request_id="r", sessions=world.session_factory(settings))
    assert snapshot.aws_calls == 0
    assert [u.what for u in snapshot.unseen] == ["identity", "key_policy"]
    assert all(placeholder in u.reason and u.remedy for u in snapshot.unseen)


def test_redacted_caller_still_reads_a_named_key(accounts: World) -> None:
    key = accounts.account(DATA).create_key(region=REGION)
    settings = accounts.settings()
    denial = _denial(key, principal_arn="arn:aws:sts::<account-id>:assumed-role/App/s")
    snapshot = collect(denial, settings, request_id="r", sessions=accounts.session_factory(settings))
    assert snapshot.key is not None and snapshot.key.policy is not None
    assert snapshot.principal is None
    assert [u.what for u in snapshot.unseen] == ["identity"]


def test_scp_named_in_the_error_without_an_org_role_is_unseen(accounts: World, cross_account: str) -> None:
    settings = accounts.settings()
    snapshot = collect(
        _denial(cross_account, denial_kind="explicit_deny_scp"),
        settings,
        request_id="r",
        sessions=accounts.session_factory(settings),
    )
    assert snapshot.org is None
    assert [u.what for u in snapshot.unseen] == ["scp"]
    assert "KMS_WHY_ORG_ROLE_ARN" in snapshot.unseen[0].reason


def test_alias_name_without_arn_is_looked_up_in_the_callers_account(accounts: World) -> None:
    app = accounts.account(APP)
    app.create_role("App")
    key = app.create_key(region=REGION, aliases=["mine"])
    settings = accounts.settings()
    denial = _denial(None, key_id="alias/mine", region=REGION, account=APP)
    snapshot = collect(denial, settings, request_id="r", sessions=accounts.session_factory(settings))
    assert snapshot.key is not None and snapshot.key.arn == key
    assert snapshot.unseen == ()


@pytest.mark.parametrize(
    ("text", "placeholder"),
    [
        ("arn:aws:iam::xxxx:role/R", "xxxx"),
        ("arn:aws:kms:us-east-1:<account-id>:key/k", "<account-id>"),
        ("arn:aws:sts::{account}:assumed-role/R/s", "{account}"),
        ("****", "****"),
        ("arn:aws:iam::111122223333:role/R", None),
        ("arn:aws:iam::aws:policy/AdministratorAccess", None),
        ("111122223333", None),
        (None, None),
    ],
)
def test_redaction_finds_placeholders_in_arns_and_account_fields(
    text: str | None, placeholder: str | None
) -> None:
    assert redaction(text) == placeholder


def test_no_credentials_at_all_is_unseen_not_a_crash(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    settings = world.settings()
    key = f"arn:aws:kms:{REGION}:{DATA}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    snapshot = collect(
        _denial(key),
        settings,
        request_id="r",
        sessions=SessionFactory(settings, endpoint_url=world.endpoint_url),
    )
    assert snapshot.principal is not None and snapshot.key is None
    assert [u.what for u in snapshot.unseen] == ["identity", "key_policy", "grants"]
    assert all("no AWS credentials" in u.reason for u in snapshot.unseen)


def test_root_caller_needs_no_iam_reads_and_the_key_takes_two_round_trips(accounts: World) -> None:
    key = accounts.account(APP).create_key(region=REGION)
    settings = accounts.settings()
    denial = _denial(key, principal_arn=f"arn:aws:iam::{APP}:root")
    snapshot = collect(denial, settings, request_id="r", sessions=accounts.session_factory(settings))
    assert snapshot.principal is not None and snapshot.principal.identity_policies == ()
    assert snapshot.key is not None and snapshot.key.policy is not None
    assert snapshot.round_trips == 2
