"""The worker's view of AWS errors: counted for `/metrics`, and transient ones turned into a retry.

Attached to the worker's `SessionFactory` as its `on_client` hook, so every client the collectors
and the writer make reports here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from bot import metrics
from bot.retry import AWS_TRANSIENT_CODES, is_transient


class AwsTrouble:
    """AWS calls of the current job that still failed transiently after botocore's own retries.

    The collectors turn any failed read into "could not see"; for a throttle or a 5xx that would be an
    answer blaming an unseen layer for what is only AWS being busy. The worker runs one job at a time,
    so one process-wide record, cleared per attempt, tells `Answers` to retry the whole analysis (and
    finally to fail it, saying why). CloudTrail is left out: it only adds context the paste lacked,
    and its LookupEvents limit (2 per second) makes throttles there routine.
    """

    BEST_EFFORT = frozenset({"cloudtrail"})

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: list[str] = []

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()

    def note(self, service: str, operation: str, code: str) -> None:
        if service in self.BEST_EFFORT:
            return
        with self._lock:
            self._failures.append(f"{service} {operation}: {code}")

    def check(self) -> None:
        with self._lock:
            failures = sorted(set(self._failures))
        if failures:
            raise AwsUnavailable("AWS kept failing after retries: " + "; ".join(failures[:3]))

    def hook(self, _session: Any, service: str, client: Any) -> None:
        """A `SessionFactory.on_client` hook: count every AWS error, remember the transient ones.

        `needs-retry` fires after each attempt, so a throttle botocore retried away still shows in
        `kms_why_aws_errors_total` (returning None leaves the retry decision to botocore); `after-call`
        and `after-call-error` fire once per call, after botocore's retries.
        """

        def attempt(response: Any = None, caught_exception: Any = None, **_: Any) -> None:
            code = _error_code(response) if caught_exception is None else type(caught_exception).__name__
            if code:
                metrics.count_aws_error(service, code)

        def called(http_response: Any = None, parsed: Any = None, model: Any = None, **_: Any) -> None:
            status = int(getattr(http_response, "status_code", 200) or 200)
            code = _error_code((http_response, parsed)) or ""
            if code in AWS_TRANSIENT_CODES or status == 429 or status >= 500:
                self.note(service, getattr(model, "name", "?"), code or f"HTTP {status}")

        def failed(exception: Any = None, **kwargs: Any) -> None:
            if exception is not None and is_transient(exception):
                self.note(service, str(kwargs.get("event_name", "?")).rsplit(".", 1)[-1],
                          type(exception).__name__)

        client.meta.events.register("needs-retry", attempt)
        client.meta.events.register("after-call", called)
        client.meta.events.register("after-call-error", failed)


class AwsUnavailable(Exception):
    """An analysis read failed on AWS throttling or 5xx even after retries: worth another attempt."""

    transient = True


def _error_code(response: Any) -> str | None:
    parsed = response[1] if isinstance(response, tuple) and len(response) > 1 else None
    code = (parsed.get("Error") or {}).get("Code") if isinstance(parsed, dict) else None
    return str(code) if code else None


def also(first: Any, second: Callable[[Any, str, Any], None]) -> Callable[[Any, str, Any], None]:
    """Both `on_client` hooks, the one already set (if any) first."""
    def both(session: Any, service: str, client: Any) -> None:
        if first is not None:
            first(session, service, client)
        second(session, service, client)

    return both
