"""End-to-end: the real `kms-why web` and `kms-why worker` processes, real Redis, moto's server with
several accounts, and the fake Slack Web API, driven by signed requests (interfaces.md, "Slack
behaviour"; issue 5, "Done when")."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import redis

from bot.demo.world import World
from bot.store import Store
from tests.e2e.harness import APPROVER, APPROVER_2, CHANNEL, REQUESTER, Stack, http, wait_until
from tests.fakes.slack_api import FakeSlackApi, iter_texts

pytestmark = pytest.mark.e2e

APPROVE = "approve_proposal"
CALLBACK_APPLY = "kms_why_apply"


def _thread_answers(slack: FakeSlackApi, thread_ts: str) -> list[dict[str, Any]]:
    return slack.bot_messages(CHANNEL, thread_ts)


def _text_of(message: dict[str, Any]) -> str:
    return " ".join([message.get("text") or "", *iter_texts(message.get("blocks") or [])])


def _wait_answer(
    slack: FakeSlackApi, thread_ts: str, *, containing: str = "", timeout: float = 60
) -> dict[str, Any]:
    def answered() -> bool:
        found = _thread_answers(slack, thread_ts)
        return (
            bool(found)
            and (found[0].get("metadata") or {}).get("event_payload", {}).get("state")
            not in (None, "analysing")
            and containing in _text_of(found[0])
        )

    wait_until(answered, timeout=timeout, what=f"an answer in thread {thread_ts} containing {containing!r}")
    return _thread_answers(slack, thread_ts)[0]


def _button_value(message: dict[str, Any], action_id: str) -> str:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button in {json.dumps(message)[:2000]}")


def _approve_value(message: dict[str, Any]) -> str:
    return _button_value(message, APPROVE)


def _paste_until_proposal(
    stack: Stack, slack: FakeSlackApi, paste: str, *, thread: str, event_id: str
) -> tuple[dict[str, Any], str, str]:
    """The requester pastes in a new thread; returns the answer, its proposal id and the key ARN."""
    slack.add_message(CHANNEL, thread, paste, user=REQUESTER)
    stack.message_event(paste, ts=thread, event_id=event_id)
    answer = _wait_answer(slack, thread)
    return answer, _approve_value(answer), paste.split("on resource: ")[1].split()[0]


def test_url_verification_and_bad_signature(stack: Stack) -> None:
    stack.start_web()
    reply = stack.post_json({"type": "url_verification", "challenge": "c-123", "token": "legacy"})
    assert reply.status == 200
    assert b"c-123" in reply.body
    forged = stack.post_json({"type": "url_verification", "challenge": "c-123"}, secret="not-the-secret")
    assert forged.status == 401


def test_a_pasted_error_is_answered_once_in_its_thread(
    stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str]
) -> None:
    stack.start_both()
    # The paste mentions the bot: Slack sends both a message and an app_mention event for it.
    paste = "<@UKMSWHYBOT> why? " + scenarios["missing-root-delegation"]
    slack.add_message(CHANNEL, "1700000100.000100", paste, user=REQUESTER)
    first = stack.message_event(paste, ts="1700000100.000100", event_id="Ev0001")
    assert first.status == 200
    mention = stack.message_event(paste, ts="1700000100.000100", event_id="Ev0001m", kind="app_mention")
    assert mention.status == 200
    again = stack.message_event(paste, ts="1700000100.000100", event_id="Ev0001", retry_num=1)
    assert 200 <= again.status < 300
    answer = _wait_answer(slack, "1700000100.000100")
    text = _text_of(answer)
    assert "key policy" in text.lower()
    assert "Approve" in text
    time.sleep(1.0)  # a second answer would have arrived by now
    assert len(_thread_answers(slack, "1700000100.000100")) == 1
    assert len(slack.calls("chat.postMessage")) == 1


def test_chatter_is_ignored(stack: Stack, slack: FakeSlackApi) -> None:
    stack.start_both()
    reply = stack.message_event(
        "lunch at noon? the deploy went fine", ts="1700000200.000100", event_id="Ev0002"
    )
    assert reply.status == 200
    time.sleep(1.5)
    assert [c.method for c in slack.calls() if c.method != "auth.test"] == []


def test_the_slash_command_is_acknowledged_and_answered_in_the_channel(
    stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str]
) -> None:
    stack.start_both()
    reply = stack.slash_command(
        scenarios["cross-account-key-policy"], response_url=slack.response_url("cmd1")
    )
    assert reply.status == 200
    assert reply.seconds < 3
    posts = slack.wait_for("chat.postMessage", timeout=30)
    assert posts[0].params["channel"] == CHANNEL

    def answered() -> bool:
        return any("cross-account" in _text_of(m).lower() for m in slack.bot_messages(CHANNEL))

    wait_until(answered, timeout=30, what="the slash command's diagnosis")
    answer = next(m for m in slack.bot_messages(CHANNEL) if "cross-account" in _text_of(m).lower())
    assert "444455556666" in _text_of(answer) and "111122223333" in _text_of(answer)


def test_self_approval_is_refused_an_approver_applies_exactly_once_and_another_reverts(
    stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str], world: World, e2e_redis: redis.Redis
) -> None:
    stack.start_both()
    paste = scenarios["missing-root-delegation"]
    thread = "1700000300.000100"
    answer, proposal_id, key_arn = _paste_until_proposal(
        stack, slack, paste, thread=thread, event_id="Ev0003"
    )
    app = world.account("111122223333")
    before = app.key_policy(key_arn)

    # The requester (an approver too) may not approve their own patch: click and submit both refused.
    click = stack.click(APPROVE, proposal_id, user=REQUESTER, message_ts=answer["ts"], thread_ts=thread)
    assert click.status == 200
    wait_until(
        lambda: any(e.get("user") == REQUESTER for e in slack.ephemerals()),
        timeout=10,
        what="a private refusal for the requester",
    )
    assert slack.opened_views() == []
    refused = stack.submit(CALLBACK_APPLY, proposal_id, user=REQUESTER, reason="I want it")
    assert refused.status == 200 and refused.json()["response_action"] == "errors"

    # An approver clicks (a modal opens), submits; a second approver's submission applies nothing more.
    click = stack.click(APPROVE, proposal_id, user=APPROVER, message_ts=answer["ts"], thread_ts=thread)
    assert click.status == 200
    wait_until(lambda: len(slack.opened_views()) == 1, timeout=10, what="the confirmation modal")
    assert (
        stack.submit(CALLBACK_APPLY, proposal_id, user=APPROVER, reason="payments job is down").status == 200
    )
    stack.submit(CALLBACK_APPLY, proposal_id, user=APPROVER_2, reason="me too")
    _wait_answer(slack, thread, containing="pplied")
    store = Store(e2e_redis)
    proposal = store.get_proposal(proposal_id)
    assert proposal is not None and proposal.state == "applied" and proposal.decided_by == APPROVER
    assert app.key_policy(key_arn) == proposal.policy_after != before
    time.sleep(1.0)  # the second submission, had it been queued, would have been processed by now
    [audit] = store.audit_records()
    assert (audit.requester, audit.approver, audit.reason) == (REQUESTER, APPROVER, "payments job is down")
    assert audit.aws_request_id
    assert len(slack.calls("chat.postMessage")) == 1

    # The applied message offers Revert; a second approver reverts to the policy from before.
    applied = _thread_answers(slack, thread)[0]
    revert_id = _button_value(applied, "revert_proposal")
    stack.click("revert_proposal", revert_id, user=APPROVER_2, message_ts=applied["ts"], thread_ts=thread)
    wait_until(lambda: len(slack.opened_views()) == 2, timeout=10, what="the revert modal")
    assert stack.submit("kms_why_revert", revert_id, user=APPROVER_2, reason="rolling back").status == 200
    _wait_answer(slack, thread, containing="everted")
    assert app.key_policy(key_arn) == before
    assert [record.action for record in store.audit_records()] == ["apply", "revert"]


def test_with_redis_down_events_get_an_error_status_and_readyz_says_so(stack: Stack) -> None:
    stack.env["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    stack.start_web()
    paste = (
        "An error occurred (AccessDeniedException) when calling the Decrypt operation: User: "
        "arn:aws:sts::111122223333:assumed-role/MyRole/alice is not authorized to perform: kms:Decrypt on "
        "resource: arn:aws:kms:ap-northeast-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
    reply = stack.message_event(paste, ts="1700000700.000100", event_id="Ev0007")
    assert reply.status >= 500  # Slack retries it later: nothing accepted is lost
    assert http(stack.web_url + "/readyz").status == 503
    assert http(stack.web_url + "/healthz").status == 200
