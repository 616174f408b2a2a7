"""Counting calls and the critical path: sequential calls add up, concurrent ones do not."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from bot.aws.trace import Trace, gather, record_call, tracing


def _call(name: str) -> None:
    record_call(model=SimpleNamespace(name=name, service_model=SimpleNamespace(signing_name="kms")))


def _two_in_a_row() -> None:
    _call("DescribeKey")
    _call("GetKeyPolicy")


def test_sequential_calls_are_round_trips_and_concurrent_ones_are_not() -> None:
    trace = Trace()
    with tracing(trace), ThreadPoolExecutor(4) as pool:
        _call("AssumeRole")  # depth 1
        gather(pool, [_two_in_a_row, lambda: _call("ListGrants"), _two_in_a_row])  # depth 3
        _call("ListAliases")  # depth 4
    assert trace.calls == 7
    assert trace.round_trips == 4
    assert trace.actions.count("kms:GetKeyPolicy") == 2


def test_nested_gathers_take_the_deepest_branch() -> None:
    trace = Trace()
    with tracing(trace), ThreadPoolExecutor(2) as pool:

        def inner() -> None:
            gather(pool, [_two_in_a_row, lambda: gather(pool, [_two_in_a_row, _two_in_a_row])])
            _call("After")

        gather(pool, [inner, lambda: _call("Alone")])
    assert trace.round_trips == 3
    assert trace.calls == 8


def test_gather_keeps_order_and_reraises_after_every_task_ended() -> None:
    ended: list[int] = []

    def boom() -> int:
        raise ValueError("x")

    def slow() -> int:
        ended.append(2)
        return 2

    with ThreadPoolExecutor(2) as pool:
        assert gather(pool, [lambda: 1, lambda: 2, lambda: 3]) == [1, 2, 3]
        with pytest.raises(ValueError):
            gather(pool, [boom, slow])
    assert ended == [2]


def test_calls_outside_a_trace_are_not_recorded() -> None:
    trace = Trace()
    _call("DescribeKey")
    with tracing(trace):
        pass
    assert trace.calls == 0
