"""Retries with exponential backoff for the errors that go away by themselves.

Transient: AWS throttling and 5xx, connection trouble, and Slack rate limits (429) or 5xx. Anything
else (AccessDenied on our own role, a malformed policy, a bug) fails at once: retrying would only
delay the message that tells the user the analysis failed.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

T = TypeVar("T")

AWS_TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalError",
        "KMSInternalException",
        "DependencyTimeoutException",
    }
)


class Stopping(Exception):
    """The worker was asked to stop while waiting to retry: the job goes back to the queue."""


def _status_code(problem: BaseException) -> int | None:
    response = getattr(problem, "response", None)
    status = getattr(response, "status_code", None)  # slack_sdk's SlackResponse
    if isinstance(status, int):
        return status
    if isinstance(response, dict):  # botocore's parsed error response
        meta = response.get("ResponseMetadata") or {}
        code = meta.get("HTTPStatusCode")
        return code if isinstance(code, int) else None
    return None


def is_transient(problem: BaseException) -> bool:
    """Whether trying again later may help; a wrapped error (`raise … from cause`) counts as its cause."""
    for _ in range(4):
        if _transient_itself(problem):
            return True
        if problem.__cause__ is None:
            return False
        problem = problem.__cause__
    return False


def _transient_itself(problem: BaseException) -> bool:
    if getattr(problem, "transient", False) is True:  # our own waits, e.g. a key lock held elsewhere
        return True
    if isinstance(problem, ClientError):
        code = str(problem.response.get("Error", {}).get("Code", ""))
        aws_status = _status_code(problem) or 0
        return code in AWS_TRANSIENT_CODES or aws_status == 429 or aws_status >= 500
    if isinstance(problem, BotoConnectionError | HTTPClientError | ConnectionError | TimeoutError):
        return True
    status = _status_code(problem)
    return status is not None and (status == 429 or status >= 500)


def retry_after_seconds(problem: BaseException) -> float | None:
    """Slack says how long to wait on a 429 (`Retry-After`); honour it."""
    headers = getattr(getattr(problem, "response", None), "headers", None)
    if not isinstance(headers, dict):
        return None
    for name, value in headers.items():
        if str(name).lower() == "retry-after":
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None


def backoff_delay(attempt: int, base_seconds: float, cap_seconds: float = 20.0) -> float:
    """Full-jitter exponential backoff: attempt 1 waits up to base, attempt 2 up to 2*base, ..."""
    ceiling: float = min(cap_seconds, base_seconds * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def call_with_retries(
    action: Callable[[], T],
    *,
    attempts: int,
    base_seconds: float,
    stop: threading.Event,
    on_retry: Callable[[BaseException, int], None] | None = None,
) -> T:
    """Run `action`, retrying transient errors up to `attempts` times in all; raise the last error.

    Raises `Stopping` when `stop` is set during a wait, so the caller hands the job back.
    """
    attempt = 1
    while True:
        try:
            return action()
        except Exception as problem:
            if attempt >= attempts or not is_transient(problem):
                raise
            if on_retry is not None:
                on_retry(problem, attempt)
            delay = retry_after_seconds(problem) or backoff_delay(attempt, base_seconds)
            if stop.wait(delay):
                raise Stopping from problem
            attempt += 1
