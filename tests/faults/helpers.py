"""What every fault test checks: each accepted paste answered exactly once, nothing lost.

Counts come from the fake Slack API (bot messages per thread, chat.postMessage calls that created a
message), from Redis (pending jobs, dead letters) and from the worker's `/metrics`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from tests.e2e.harness import CHANNEL, REQUESTER, Stack, free_port, http, wait_until
from tests.e2e.test_slack_e2e import _text_of
from tests.fakes.slack_api import FakeSlackApi

__all__ = ["Tally", "free_port", "metric", "paste_threads", "report", "state_of", "tally", "wait_all_final"]


def state_of(message: dict[str, Any]) -> str | None:
    state = ((message.get("metadata") or {}).get("event_payload") or {}).get("state")
    return str(state) if state else None


def paste_threads(slack: FakeSlackApi, paste: str, count: int, *, base: int) -> list[str]:
    """Seed `count` pastes in the channel (as the events will refer to them); their thread ts."""
    threads = [f"{base + i}.000100" for i in range(count)]
    for ts in threads:
        slack.add_message(CHANNEL, ts, paste, user=REQUESTER)
    return threads


@dataclass(frozen=True)
class Tally:
    """Per thread: how many bot messages it holds and what the first one says."""

    messages: dict[str, int]
    states: dict[str, str | None]
    texts: dict[str, str]

    @property
    def lost(self) -> int:
        return sum(1 for n in self.messages.values() if n == 0)

    @property
    def duplicated(self) -> int:
        return sum(n - 1 for n in self.messages.values() if n > 1)


def tally(slack: FakeSlackApi, threads: list[str]) -> Tally:
    messages: dict[str, int] = {}
    states: dict[str, str | None] = {}
    texts: dict[str, str] = {}
    for ts in threads:
        found = slack.bot_messages(CHANNEL, ts)
        messages[ts] = len(found)
        states[ts] = state_of(found[0]) if found else None
        texts[ts] = _text_of(found[0]) if found else ""
    return Tally(messages, states, texts)


def wait_all_final(
    slack: FakeSlackApi, threads: list[str], *, timeout: float, final: tuple[str, ...] = ("answered",)
) -> Tally:
    """Wait until every thread's message reached a final state; then a short settle for late duplicates."""

    def done() -> bool:
        return all(state in final for state in tally(slack, threads).states.values())

    wait_until(done, timeout=timeout, what=f"{len(threads)} threads in state {final}", interval=0.2)
    time.sleep(1.0)  # a duplicate answer would arrive within this settle time
    return tally(slack, threads)


def metric(port: int, name: str, **labels: str) -> float:
    """One sample of the worker's Prometheus text (0 when absent)."""
    text = http(f"http://127.0.0.1:{port}/metrics").body.decode()
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}(\{{[^}}]*\}})? (\S+)$", line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match[1] or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match[2])
    return total


def send_events(stack: Stack, paste: str, threads: list[str], *, prefix: str) -> dict[str, int]:
    """One message event per thread (event id `<prefix><i>`); the HTTP status of each."""
    return {
        ts: stack.message_event(paste, ts=ts, event_id=f"{prefix}{i}").status for i, ts in enumerate(threads)
    }


def report(fault: str, result: Tally, **extra: object) -> None:
    """One line of figures for RELIABILITY.md (seen with `pytest -s`)."""
    figures = " ".join(f"{k}={v}" for k, v in extra.items())
    print(
        f"\nFAULT-RESULT {fault}: accepted={len(result.messages)} lost={result.lost} "
        f"duplicated={result.duplicated} {figures}".rstrip(),
        flush=True,
    )
