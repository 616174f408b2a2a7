"""The session factory: real AssumeRole per account on moto, cached credentials, retry mode, regions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from bot.aws.sessions import AssumeRoleError, SessionFactory, role_session_name
from bot.aws.trace import Trace, tracing
from bot.demo.world import World
from tests.aws.conftest import APP, DATA
from tests.aws.faults import Faults


def _assumes(trace: Trace) -> int:
    return trace.actions.count("sts:AssumeRole")


def test_reader_session_is_the_reader_role_in_that_account_named_after_the_request(accounts: World) -> None:
    sessions = accounts.session_factory(accounts.settings())
    session = sessions.reader(DATA, "req-42")
    sts = session._client("sts", None)
    identity = sts.get_caller_identity()
    assert identity["Account"] == DATA
    assert identity["Arn"] == f"arn:aws:sts::{DATA}:assumed-role/kms-why-reader/kms-why-req-42"
    assert session.role_arn == f"arn:aws:iam::{DATA}:role/kms-why-reader"


def test_readers_assume_every_account_in_parallel_and_cache_the_credentials(accounts: World) -> None:
    sessions = accounts.session_factory(accounts.settings())
    cold = Trace()
    with tracing(cold):
        found = sessions.readers([APP, DATA, APP], "r1")
    assert sorted(found) == [APP, DATA]
    assert _assumes(cold) == 2
    assert cold.round_trips == 1  # both at once
    warm = Trace()
    with tracing(warm):
        again = sessions.readers([APP, DATA], "r2")
    assert warm.calls == 0
    assert again[APP] is found[APP]


def test_credentials_are_assumed_again_shortly_before_they_expire(accounts: World) -> None:
    clock = [datetime.now(UTC)]
    sessions = accounts.session_factory(accounts.settings(), now=lambda: clock[0])
    first = sessions.reader(APP, "r1")
    assert first.expiration is not None
    clock[0] = first.expiration - timedelta(minutes=10)
    assert sessions.reader(APP, "r2") is first
    clock[0] = first.expiration - timedelta(minutes=4)
    assert sessions.reader(APP, "r3") is not first


def test_many_threads_asking_for_one_role_assume_it_once(accounts: World) -> None:
    sessions = accounts.session_factory(accounts.settings())
    trace = Trace()
    results: list[object] = []

    def ask() -> None:
        with tracing(trace):
            results.append(sessions.reader(APP, "r"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _assumes(trace) == 1
    assert len({id(r) for r in results}) == 1


def test_writer_is_assumed_afresh_for_every_apply(accounts: World) -> None:
    sessions = accounts.session_factory(accounts.settings())
    trace = Trace()
    with tracing(trace):
        one = sessions.writer(DATA, "apply-1")
        two = sessions.writer(DATA, "apply-2")
    assert _assumes(trace) == 2
    assert one.role_arn == f"arn:aws:iam::{DATA}:role/kms-why-writer"
    assert one is not two


def test_external_id_is_sent_when_configured(accounts: World) -> None:
    sent: list[dict[str, object]] = []

    def hook(session: object, service: str, client: object) -> None:
        if service == "sts":
            client.meta.events.register(  # type: ignore[attr-defined]
                "before-parameter-build.sts.AssumeRole", lambda params, **_: sent.append(dict(params))
            )

    sessions = accounts.session_factory(accounts.settings(reader_external_id="ext-123"), on_client=hook)
    sessions.reader(APP, "r")
    assert sent[0]["ExternalId"] == "ext-123"
    assert sent[0]["RoleSessionName"] == "kms-why-r"


def test_clients_use_adaptive_retries_the_given_region_and_sts_the_default_region(accounts: World) -> None:
    regions: dict[str, str] = {}

    def hook(session: object, service: str, client: object) -> None:
        regions[service] = client.meta.region_name  # type: ignore[attr-defined]
        assert client.meta.config.retries["mode"] == "adaptive"  # type: ignore[attr-defined]

    sessions = accounts.session_factory(accounts.settings(aws_default_region="eu-west-1"), on_client=hook)
    sessions.reader(DATA, "r").kms("ap-northeast-1")
    assert regions == {"sts": "eu-west-1", "kms": "ap-northeast-1"}


def test_denied_assume_role_is_a_typed_error(accounts: World, faults: Faults) -> None:
    faults.fail(
        "sts",
        "AssumeRole",
        code="AccessDenied",
        message="not authorized to perform sts:AssumeRole",
        when=lambda params: DATA in str(params.get("RoleArn")),
    )
    sessions = accounts.session_factory(accounts.settings(), on_client=faults.hook)
    with pytest.raises(AssumeRoleError) as raised:
        sessions.reader(DATA, "r")
    assert raised.value.code == "AccessDenied"
    assert raised.value.role_arn == f"arn:aws:iam::{DATA}:role/kms-why-reader"
    found = sessions.readers([APP, DATA], "r")
    assert isinstance(found[DATA], AssumeRoleError)
    assert not isinstance(found[APP], AssumeRoleError)


def test_no_client_is_created_before_it_is_needed(world: World) -> None:
    made: list[str] = []
    SessionFactory(
        world.settings(),
        base_session=world.base_session(),
        endpoint_url=world.endpoint_url,
        on_client=lambda session, service, client: made.append(service),
    )
    assert made == []


@pytest.mark.parametrize(
    ("request_id", "expected"),
    [
        ("abc", "kms-why-abc"),
        ("1732.77 slack/C0", "kms-why-1732.77-slack-C0"),
        ("x" * 100, "kms-why-" + "x" * 56),
    ],
)
def test_role_session_name_is_what_sts_accepts(request_id: str, expected: str) -> None:
    assert role_session_name(request_id) == expected
