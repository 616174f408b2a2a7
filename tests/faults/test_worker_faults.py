"""A worker killed with SIGKILL in the middle of an apply, right after PutKeyPolicy succeeded and
before anything was recorded: the rescuing worker must not put the policy again, and the thread must
end in the true state, "applied". (SIGKILL mid-analysis is covered by
tests/e2e/test_resilience_e2e.py::test_a_worker_killed_mid_job_is_replaced_and_the_reply_posted_once.)"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from bot.demo.world import World
from bot.store import Store
from tests.e2e.harness import APPROVER, Stack, wait_until
from tests.e2e.test_slack_e2e import (
    APPROVE,
    CALLBACK_APPLY,
    _paste_until_proposal,
    _wait_answer,
)
from tests.fakes.slack_api import FakeSlackApi
from tests.faults.aws_proxy import FaultyAws
from tests.faults.helpers import report, tally

pytestmark = pytest.mark.e2e


def test_an_apply_killed_after_put_key_policy_is_finished_without_a_second_put(
    stack: Stack,
    slack: FakeSlackApi,
    scenarios: dict[str, str],
    world: World,
    e2e_redis: redis.Redis[bytes],
    faulty_aws: FaultyAws,
    tmp_path: Path,
) -> None:
    stack.env["KMS_WHY_KEY_LOCK_SECONDS"] = "3"  # the dead worker's key lock expires quickly
    _, doomed = stack.start_both(
        KMS_WHY_TEST_PAUSE_SECONDS="60", KMS_WHY_TEST_PAUSE_AT="after_put_key_policy"
    )
    paste = scenarios["missing-root-delegation"]
    thread = "1700200000.000100"
    answer, proposal_id, key_arn = _paste_until_proposal(
        stack, slack, paste, thread=thread, event_id="EvApplyKill"
    )
    app = world.account("111122223333")
    before = app.key_policy(key_arn)

    stack.click(APPROVE, proposal_id, user=APPROVER, message_ts=answer["ts"], thread_ts=thread)
    wait_until(lambda: len(slack.opened_views()) == 1, timeout=10, what="the confirmation modal")
    assert stack.submit(CALLBACK_APPLY, proposal_id, user=APPROVER, reason="payments down").status == 200

    def puts() -> int:
        return sum(1 for s in faulty_aws.seen if s.operation == "PutKeyPolicy" and s.status == 200)

    wait_until(lambda: puts() == 1, timeout=30, what="PutKeyPolicy")
    time.sleep(0.5)  # the worker is now in its pause, between the put and any bookkeeping
    store = Store(e2e_redis)
    assert store.get_intent(proposal_id, "apply") == "started"
    assert store.audit_records() == []
    doomed.kill()
    assert app.key_policy(key_arn) != before  # the put did happen before the crash

    stack.start_worker("rescuer", KMS_WHY_HEARTBEAT_FILE=str(tmp_path / "rescuer.heartbeat"))
    _wait_answer(slack, thread, containing="pplied", timeout=60)
    time.sleep(1.0)
    proposal = store.get_proposal(proposal_id)
    assert proposal is not None and proposal.state == "applied" and proposal.decided_by == APPROVER
    assert app.key_policy(key_arn) == proposal.policy_after
    assert puts() == 1  # the rescuer found the intent and the policy already applied: no second put
    [audit] = store.audit_records()
    assert audit.action == "apply" and audit.approver == APPROVER
    assert store.get_intent(proposal_id, "apply") == "done"
    result = tally(slack, [thread])
    report("worker SIGKILL after PutKeyPolicy", result, put_key_policy_calls=puts(),
           audit_records=len(store.audit_records()), state=result.states[thread])
    assert result.messages == {thread: 1} and result.states == {thread: "applied"}
    assert len(slack.calls("chat.postMessage")) == 1
    assert store.dead_letters() == []
