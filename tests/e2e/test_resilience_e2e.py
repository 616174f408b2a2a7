"""End-to-end: a stale key policy is never overwritten, and a job survives its worker's SIGKILL
(interfaces.md, "Slack behaviour": re-reads the key policy; completed by another worker within 60 s,
reply posted exactly once)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from bot.demo.world import World
from bot.store import Store
from tests.e2e.harness import APPROVER, CHANNEL, REQUESTER, Stack, wait_until
from tests.e2e.test_slack_e2e import (
    APPROVE,
    CALLBACK_APPLY,
    _paste_until_proposal,
    _text_of,
    _wait_answer,
)
from tests.fakes.slack_api import FakeSlackApi

pytestmark = pytest.mark.e2e


def test_a_key_policy_changed_since_the_analysis_is_not_overwritten(
    stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str], world: World, e2e_redis: redis.Redis
) -> None:
    stack.start_both()
    paste = scenarios["missing-root-delegation"]
    thread = "1700000400.000100"
    answer, proposal_id, key_arn = _paste_until_proposal(
        stack, slack, paste, thread=thread, event_id="Ev0004"
    )
    app = world.account("111122223333")
    changed = app.key_policy(key_arn)
    changed["Statement"].append(
        {
            "Sid": "SomeoneElse",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "kms:DescribeKey",
            "Resource": "*",
        }
    )
    app.put_key_policy(key_arn, changed)

    stack.click(APPROVE, proposal_id, user=APPROVER, message_ts=answer["ts"], thread_ts=thread)
    wait_until(lambda: len(slack.opened_views()) == 1, timeout=10, what="the confirmation modal")
    assert stack.submit(CALLBACK_APPLY, proposal_id, user=APPROVER, reason="fix payments").status == 200
    _wait_answer(slack, thread, containing="changed since the analysis")
    assert app.key_policy(key_arn) == changed
    assert any(
        "changed since the analysis" in e.get("text", "")
        for e in slack.ephemerals()
        if e.get("user") == APPROVER
    )
    proposal = Store(e2e_redis).get_proposal(proposal_id)
    assert proposal is not None and proposal.state == "pending"
    assert Store(e2e_redis).audit_records() == []


def test_a_worker_killed_mid_job_is_replaced_and_the_reply_posted_once(
    stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str], tmp_path: Path
) -> None:
    _, doomed = stack.start_both(KMS_WHY_TEST_PAUSE_SECONDS="60")
    paste = scenarios["missing-root-delegation"]
    thread = "1700000500.000100"
    slack.add_message(CHANNEL, thread, paste, user=REQUESTER)
    stack.message_event(paste, ts=thread, event_id="Ev0005")
    [placeholder] = slack.wait_for("chat.postMessage", timeout=30)  # the worker is now inside the job
    doomed.kill()
    killed_at = time.monotonic()

    stack.start_worker("rescuer", KMS_WHY_HEARTBEAT_FILE=str(tmp_path / "rescuer.heartbeat"))
    answer = _wait_answer(slack, thread, timeout=60)
    assert time.monotonic() - killed_at < 60
    assert "key policy" in _text_of(answer).lower()
    time.sleep(1.0)
    assert len(slack.calls("chat.postMessage")) == 1
    assert len(slack.bot_messages(CHANNEL, thread)) == 1
    updates = slack.calls("chat.update")
    assert updates and all(call.params["ts"] == answer["ts"] for call in updates)
    assert placeholder.params.get("thread_ts") == thread


def test_sigterm_lets_the_worker_finish_its_job_and_exit_cleanly(
    stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str]
) -> None:
    _, worker = stack.start_both(KMS_WHY_TEST_PAUSE_SECONDS="2")
    paste = scenarios["missing-root-delegation"]
    thread = "1700000600.000100"
    slack.add_message(CHANNEL, thread, paste, user=REQUESTER)
    stack.message_event(paste, ts=thread, event_id="Ev0006")
    slack.wait_for("chat.postMessage", timeout=30)
    assert worker.terminate(timeout=30) == 0
    answer = _wait_answer(slack, thread, timeout=1)
    assert "key policy" in _text_of(answer).lower()
