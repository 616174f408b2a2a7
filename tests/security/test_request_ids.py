"""One request id per Slack request on the web side (architecture.md, "The data flow of one paste"):
every log line a listener writes carries it, and the job it queues takes the same id to the worker."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.jobs import DecisionJob
from bot.logs import RequestIdFilter
from handlers.modals import CALLBACK_APPLY
from tests.handlers.conftest import (
    APPROVER,
    GROUP,
    GROUP_MEMBER,
    PASTE,
    Harness,
    HarnessFactory,
    message_event,
    proposal,
)
from tests.handlers.test_interactions_http import _submission


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.addFilter(RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def ids(self, logger_prefix: str) -> list[str | None]:
        return [getattr(r, "request_id", None) for r in self.records if r.name.startswith(logger_prefix)]


@pytest.fixture
def captured() -> Iterator[Captured]:
    handler = Captured()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def test_a_pasted_event_is_logged_and_queued_under_its_event_id(harness: Harness, captured: Captured) -> None:
    assert harness.event(message_event(PASTE), event_id="EvTRACE0001").status == 200
    [job] = harness.jobs()
    assert job.request_id == "EvTRACE0001"
    assert captured.ids("handlers") and set(captured.ids("handlers")) == {"EvTRACE0001"}


def test_every_line_of_a_submission_shares_the_id_its_decision_job_carries(
    make_harness: HarnessFactory, captured: Captured
) -> None:
    # A second approver group the fake Slack does not know makes the listener log a warning first.
    harness = make_harness(KMS_WHY_APPROVERS=f"{APPROVER},SBROKENGRP,{GROUP}")
    saved = proposal()
    harness.store.save_proposal(saved)
    assert harness.interaction(_submission(CALLBACK_APPLY, saved.proposal_id, GROUP_MEMBER)).status == 200
    [job] = harness.jobs()
    assert isinstance(job, DecisionJob)
    ids = captured.ids("handlers")
    assert len(ids) >= 2  # the group warning and the "queued" line
    assert set(ids) == {job.request_id}


def test_two_requests_get_two_ids(harness: Harness, captured: Captured) -> None:
    harness.command(PASTE, trigger_id="1.1.a")
    harness.command(PASTE, trigger_id="1.1.b")
    first, second = harness.jobs()
    assert first.request_id != second.request_id
    assert set(captured.ids("handlers")) == {first.request_id, second.request_id}
