"""Which errors the worker retries, and how long it waits between attempts."""

from __future__ import annotations

import threading

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from bot.retry import Stopping, backoff_delay, call_with_retries, is_transient
from bot.store import KeyBusy
from tests.worker.fakes import SlackRateLimited, access_denied, throttling


def _aws(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


class Wrapped(Exception):
    pass


def _wrapped(cause: Exception) -> Wrapped:
    try:
        raise Wrapped("writer failed") from cause
    except Wrapped as problem:
        return problem


@pytest.mark.parametrize(
    "problem",
    [
        throttling(),
        _aws("RequestLimitExceeded"),
        _aws("KMSInternalException", 500),
        _aws("Whatever", 503),
        EndpointConnectionError(endpoint_url="http://x"),
        SlackRateLimited(),
        KeyBusy("busy"),
        _wrapped(throttling()),
    ],
)
def test_transient_errors(problem: BaseException) -> None:
    assert is_transient(problem)


@pytest.mark.parametrize(
    "problem",
    [access_denied(), _aws("MalformedPolicyDocumentException"), ValueError("bug"), _wrapped(ValueError())],
)
def test_permanent_errors(problem: BaseException) -> None:
    assert not is_transient(problem)


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0)):
        delay = backoff_delay(attempt, 1.0)
        assert ceiling / 2 <= delay <= ceiling
    assert backoff_delay(20, 1.0, cap_seconds=5) <= 5


def test_call_with_retries_gives_up_after_the_last_attempt() -> None:
    calls: list[int] = []

    def always_throttled() -> None:
        calls.append(1)
        raise throttling()

    with pytest.raises(ClientError):
        call_with_retries(always_throttled, attempts=3, base_seconds=0.001, stop=threading.Event())
    assert len(calls) == 3


def test_a_stop_during_the_wait_raises_stopping() -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(Stopping):
        call_with_retries(lambda: (_ for _ in ()).throw(throttling()), attempts=3, base_seconds=1, stop=stop)
