"""Counting AWS calls and the sequential round trips on an analysis' critical path.

Every botocore call made while a `Trace` is active (a context variable) is recorded by a hook on
the clients. The depth of a call is one more than the depth of the call before it in the same
logical flow; `gather` runs independent flows in threads, each starting from the caller's depth,
and continues from the deepest. The deepest call is the number of round trips on the critical path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from typing import Any, TypeVar

T = TypeVar("T")

_TRACE: ContextVar[Trace | None] = ContextVar("kms_why_trace", default=None)
_DEPTH: ContextVar[int] = ContextVar("kms_why_depth", default=0)


class Trace:
    """The AWS calls of one analysis: how many, which IAM actions, and the critical-path depth."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.round_trips = 0
        self.actions: list[str] = []

    def record(self, action: str) -> None:
        depth = _DEPTH.get() + 1
        _DEPTH.set(depth)
        with self._lock:
            self.calls += 1
            self.round_trips = max(self.round_trips, depth)
            self.actions.append(action)


@contextmanager
def tracing(trace: Trace) -> Iterator[Trace]:
    """Record the calls made in this context (and in `gather`ed flows) into `trace`, from depth 0."""
    trace_token = _TRACE.set(trace)
    depth_token = _DEPTH.set(0)
    try:
        yield trace
    finally:
        _DEPTH.reset(depth_token)
        _TRACE.reset(trace_token)


def record_call(model: Any = None, **_: Any) -> None:
    """botocore `before-parameter-build` hook: runs once per API call (and per page), before any stub."""
    trace = _TRACE.get()
    if trace is not None and model is not None:
        trace.record(f"{model.service_model.signing_name}:{model.name}")


def gather(executor: Executor, tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Run independent tasks concurrently; results in order. Re-raises the first failure after all end.

    The last task runs in the calling thread, so nested gathers never wait on a full pool for all work.
    """
    if not tasks:
        return []
    contexts = [copy_context() for _ in tasks]
    futures = [executor.submit(ctx.run, task) for ctx, task in zip(contexts[:-1], tasks[:-1], strict=True)]
    outcomes: list[tuple[bool, Any]] = []
    try:
        last: tuple[bool, Any] = (True, contexts[-1].run(tasks[-1]))
    except BaseException as exc:  # re-raised below, once every task has ended
        last = (False, exc)
    for future in futures:
        try:
            outcomes.append((True, future.result()))
        except BaseException as exc:
            outcomes.append((False, exc))
    outcomes.append(last)
    _DEPTH.set(max(_DEPTH.get(), *(ctx.get(_DEPTH, 0) for ctx in contexts)))
    for ok, value in outcomes:
        if not ok:
            raise value
    return [value for _, value in outcomes]
