"""Slash command, message shortcut, buttons and modal submissions over signed HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.jobs import AnalyseJob, DecisionJob
from handlers.modals import CALLBACK_APPLY, CALLBACK_REVERT, REASON_ACTION, REASON_BLOCK
from tests.fakes.slack_api import iter_texts
from tests.handlers.conftest import (
    APPROVER,
    BYSTANDER,
    CHANNEL,
    GROUP_MEMBER,
    PASTE,
    REQUESTER,
    Harness,
    HarnessFactory,
    proposal,
)

THREAD = "1700000000.000100"
BUTTON_MESSAGE = {"type": "message", "ts": "1700000000.000900", "thread_ts": THREAD, "bot_id": "BKMSWHYBOT",
                  "text": "kms:Decrypt denied"}


def _click(action_id: str, value: str, user: str, *, channel: str = CHANNEL) -> dict[str, Any]:
    return {
        "type": "block_actions", "user": {"id": user, "username": "u", "team_id": "T0FAKETEAM"},
        "container": {"type": "message", "message_ts": BUTTON_MESSAGE["ts"], "channel_id": channel,
                      "is_ephemeral": False, "thread_ts": THREAD},
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "channel": {"id": channel, "name": "pastes"},
        "message": BUTTON_MESSAGE, "response_url": "http://127.0.0.1:9/unused",
        "actions": [{"action_id": action_id, "block_id": "b1", "value": value, "type": "button",
                     "text": {"type": "plain_text", "text": "Approve & apply"}, "action_ts": "1700000001.1"}],
    }


def _submission(
    callback_id: str, private_metadata: str, user: str, reason: str = "ticket OPS-42"
) -> dict[str, Any]:
    typed = {REASON_BLOCK: {REASON_ACTION: {"type": "plain_text_input", "value": reason}}}
    return {
        "type": "view_submission", "user": {"id": user, "username": "u", "team_id": "T0FAKETEAM"},
        "trigger_id": "1.2.abc",
        "view": {"id": "V0000001", "type": "modal", "callback_id": callback_id,
                 "private_metadata": private_metadata, "state": {"values": typed},
                 "hash": "1700000001.abc", "title": {"type": "plain_text", "text": "Apply"}},
    }


def _ephemeral_texts(harness: Harness) -> list[str]:
    return [str(c.params.get("text")) for c in harness.slack.calls("chat.postEphemeral")]


# --- /kms-why -----------------------------------------------------------------------------------------


def test_slash_command_acks_ephemerally_and_queues_a_channel_answer(harness: Harness) -> None:
    reply = harness.command(PASTE, trigger_id="111.222.cmd")
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("application/json")
    assert reply.json()["response_type"] == "ephemeral" and "Analysing" in reply.json()["text"]
    [job] = harness.jobs()
    assert isinstance(job, AnalyseJob) and job.source == "command" and job.job_id == "command:111.222.cmd"
    assert job.place.channel_id == CHANNEL and job.place.thread_ts is None
    assert job.place.response_url == harness.slack.response_url("command")


def test_slash_command_alone_or_help_explains_usage(harness: Harness) -> None:
    for text in ("", "help", "  HELP "):
        reply = harness.command(text)
        assert reply.status == 200 and "/kms-why <error>" in reply.json()["text"]
    assert harness.jobs() == []


def test_slash_command_with_chatter_says_no_kms_error(harness: Harness) -> None:
    reply = harness.command("why is the build red")
    assert reply.status == 200 and "no KMS error" in reply.json()["text"]
    assert harness.jobs() == []


def test_slash_command_with_redis_down_gets_a_clear_ephemeral(make_harness: HarnessFactory) -> None:
    harness = make_harness(redis_down=True)
    reply = harness.command(PASTE)
    assert reply.status == 200
    assert reply.json()["response_type"] == "ephemeral" and "unavailable" in reply.json()["text"]


# --- the message shortcut ----------------------------------------------------------------------------


def _shortcut(harness: Harness, text: str, ts: str = "1700000000.000500") -> None:
    reply = harness.interaction({
        "type": "message_action", "callback_id": "explain_kms_error", "trigger_id": "9.9.sc",
        "response_url": harness.slack.response_url("shortcut"), "channel": {"id": CHANNEL, "name": "pastes"},
        "user": {"id": BYSTANDER, "name": "b"}, "message_ts": ts,
        "message": {"type": "message", "user": REQUESTER, "ts": ts, "text": text},
    })
    assert reply.status == 200


def test_shortcut_queues_the_message_for_its_thread_and_tells_the_clicker(harness: Harness) -> None:
    _shortcut(harness, PASTE)
    [job] = harness.jobs()
    assert isinstance(job, AnalyseJob) and job.source == "shortcut"
    assert job.place.thread_ts == "1700000000.000500" and job.place.user_id == BYSTANDER
    [note] = harness.slack.wait_for("response_url")
    assert note.params["response_type"] == "ephemeral" and "Analysing" in note.params["text"]


def test_shortcut_on_an_already_answered_message_adds_nothing(harness: Harness) -> None:
    harness.event({"type": "message", "channel": CHANNEL, "user": REQUESTER, "text": PASTE,
                   "ts": "1700000000.000500"})
    _shortcut(harness, PASTE)
    assert len(harness.jobs()) == 1
    assert "already" in harness.slack.wait_for("response_url")[0].params["text"]


def test_shortcut_on_chatter_says_so(harness: Harness) -> None:
    _shortcut(harness, "good morning")
    assert harness.jobs() == []
    assert "no KMS error" in harness.slack.wait_for("response_url")[0].params["text"]


# --- buttons ---------------------------------------------------------------------------------------


def test_approve_by_a_non_approver_is_refused_privately(harness: Harness) -> None:
    saved = proposal()
    harness.store.save_proposal(saved)
    assert harness.interaction(_click("approve_proposal", saved.proposal_id, BYSTANDER)).status == 200
    assert harness.slack.calls("views.open") == []
    [ephemeral] = harness.slack.calls("chat.postEphemeral")
    assert ephemeral.params["user"] == BYSTANDER and "not an approver" in str(ephemeral.params["text"])
    assert harness.jobs() == []


def test_approve_by_the_requester_is_refused_even_when_an_approver(make_harness: HarnessFactory) -> None:
    harness = make_harness(KMS_WHY_APPROVERS=f"{REQUESTER},{APPROVER}")
    saved = proposal()
    harness.store.save_proposal(saved)
    harness.interaction(_click("approve_proposal", saved.proposal_id, REQUESTER))
    assert harness.slack.calls("views.open") == []
    assert any("someone else must approve" in text for text in _ephemeral_texts(harness))


def test_approve_by_an_approver_opens_the_modal_with_trigger_and_proposal(harness: Harness) -> None:
    saved = proposal(diff='- "Principal": "a"\n+ "Principal": "b"')
    harness.store.save_proposal(saved)
    harness.interaction(_click("approve_proposal", saved.proposal_id, APPROVER))
    [opened] = harness.slack.calls("views.open")
    assert opened.params["trigger_id"] == "13345224609.738474920.8088930838d88f008e0"
    view = opened.params["view"]
    assert view["private_metadata"] == saved.proposal_id and view["callback_id"] == CALLBACK_APPLY
    assert '+ "Principal": "b"' in "\n".join(iter_texts(view["blocks"]))
    assert _ephemeral_texts(harness) == []


def test_approve_by_a_member_of_an_approver_group_opens_the_modal(harness: Harness) -> None:
    saved = proposal()
    harness.store.save_proposal(saved)
    harness.interaction(_click("approve_proposal", saved.proposal_id, GROUP_MEMBER))
    assert len(harness.slack.calls("views.open")) == 1
    assert harness.slack.calls("usergroups.users.list")[0].params["usergroup"] == "SAPPROVERS"


def test_expired_unknown_or_foreign_proposals_are_refused(harness: Harness) -> None:
    expired = proposal(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    elsewhere = proposal(channel_id="C0ELSEWHERE")
    for saved in (expired, elsewhere):
        harness.store.save_proposal(saved)
    harness.interaction(_click("approve_proposal", expired.proposal_id, APPROVER))
    harness.interaction(_click("approve_proposal", "p-doesnotexist", APPROVER))
    harness.interaction(_click("approve_proposal", elsewhere.proposal_id, APPROVER))
    assert harness.slack.calls("views.open") == []
    texts = _ephemeral_texts(harness)
    assert len(texts) == 3
    assert "expired" in texts[0] and "no longer exists" in texts[1] and "this channel" in texts[2]


def test_reject_by_the_requester_queues_a_reject_decision(harness: Harness) -> None:
    saved = proposal()
    harness.store.save_proposal(saved)
    harness.interaction(_click("reject_proposal", saved.proposal_id, REQUESTER))
    [job] = harness.jobs()
    assert isinstance(job, DecisionJob) and job.action == "reject" and job.user_id == REQUESTER
    harness.interaction(_click("reject_proposal", saved.proposal_id, BYSTANDER))
    assert len(harness.jobs()) == 1
    assert any("Only an approver" in text for text in _ephemeral_texts(harness))


def test_revert_button_opens_the_revert_modal_only_for_an_applied_patch(harness: Harness) -> None:
    pending, applied = proposal(), proposal(state="applied")
    for saved in (pending, applied):
        harness.store.save_proposal(saved)
    harness.interaction(_click("revert_proposal", pending.proposal_id, APPROVER))
    harness.interaction(_click("revert_proposal", applied.proposal_id, APPROVER))
    [opened] = harness.slack.calls("views.open")
    assert opened.params["view"]["callback_id"] == CALLBACK_REVERT
    assert opened.params["view"]["private_metadata"] == applied.proposal_id


# --- modal submissions -----------------------------------------------------------------------------


def test_submission_by_an_approver_queues_the_apply_and_closes_the_modal(harness: Harness) -> None:
    saved = proposal()
    harness.store.save_proposal(saved)
    reply = harness.interaction(_submission(CALLBACK_APPLY, saved.proposal_id, APPROVER))
    assert reply.status == 200 and reply.body == ""
    [job] = harness.jobs()
    assert isinstance(job, DecisionJob)
    assert (job.action, job.proposal_id, job.user_id, job.reason) == ("apply", saved.proposal_id, APPROVER,
                                                                     "ticket OPS-42")
    again = harness.interaction(_submission(CALLBACK_APPLY, saved.proposal_id, GROUP_MEMBER))
    assert again.json()["response_action"] == "errors" and len(harness.jobs()) == 1


def test_submission_checks_again_and_shows_modal_errors(make_harness: HarnessFactory) -> None:
    harness = make_harness(KMS_WHY_APPROVERS=f"{REQUESTER},{APPROVER}")
    saved, expired = proposal(), proposal(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    for item in (saved, expired):
        harness.store.save_proposal(item)
    cases = [(saved.proposal_id, REQUESTER, "x-ok reason", "someone else"),
             (saved.proposal_id, BYSTANDER, "x-ok reason", "not an approver"),
             (expired.proposal_id, APPROVER, "x-ok reason", "expired"),
             ("p-gone", APPROVER, "x-ok reason", "no longer exists"),
             (saved.proposal_id, APPROVER, "  ", "reason")]
    for proposal_id, user, reason, expected in cases:
        answer = harness.interaction(_submission(CALLBACK_APPLY, proposal_id, user, reason)).json()
        assert answer["response_action"] == "errors"
        assert expected in answer["errors"][REASON_BLOCK]
    assert harness.jobs() == []


def test_show_full_diff_opens_a_modal_from_the_stored_analysis(harness: Harness) -> None:
    from bot.diagnosis.models import Cause, Diagnosis, Fix, Lock
    from bot.jobs import SlackPlace
    from bot.parse.models import Denial
    from bot.ports import ThreadView
    from bot.store import AnalysisRecord

    diff = "\n".join(f'+ "line {n}"' for n in range(400))
    diagnosis = Diagnosis(denial=Denial(action="kms:Decrypt"), verdict="implicit_deny",
                          cause=Cause(catalogue=2, code="c", summary="s"),
                          locks=(Lock(layer="key_policy", allows=False),),
                          fixes=(Fix(kind="key_policy_patch", summary="add", diff=diff,
                                     commands=("aws kms get-key-policy --key-id k",)),))
    view = ThreadView(analysis_id="a-1", state="answered", diagnoses=(diagnosis,))
    harness.store.save_analysis("a-1", AnalysisRecord(place=SlackPlace(channel_id=CHANNEL, user_id=REQUESTER),
                                                      view=view))
    harness.interaction(_click("show_full_diff", "a-1|0|0", BYSTANDER))
    harness.interaction(_click("show_full_diff", "a-1|0|0", BYSTANDER, channel="C0ELSEWHERE"))
    harness.interaction(_click("show_full_diff", "a-1|0|0|commands", BYSTANDER))
    diff_view, commands_view = (call.params["view"] for call in harness.slack.calls("views.open"))
    shown = "\n".join(iter_texts(diff_view["blocks"]))
    assert '+ "line 0"' in shown and '+ "line 399"' in shown
    assert "aws kms get-key-policy --key-id k" in "\n".join(iter_texts(commands_view["blocks"]))
    assert len(_ephemeral_texts(harness)) == 1


def test_redis_down_clicks_shortcuts_and_submissions_say_so_privately(make_harness: HarnessFactory) -> None:
    harness = make_harness(redis_down=True)
    harness.interaction(_click("approve_proposal", "p-any", APPROVER))
    assert harness.slack.calls("views.open") == []
    assert any("Redis unavailable" in text for text in _ephemeral_texts(harness))
    answer = harness.interaction(_submission(CALLBACK_APPLY, "p-any", APPROVER)).json()
    assert answer["response_action"] == "errors" and "Redis" in answer["errors"][REASON_BLOCK]
    _shortcut(harness, PASTE)
    assert "unavailable" in harness.slack.wait_for("response_url")[0].params["text"]


def test_an_expired_trigger_is_told_to_the_clicker(harness: Harness) -> None:
    saved = proposal()
    harness.store.save_proposal(saved)
    harness.slack.fail("views.open", error="expired_trigger_id")
    assert harness.interaction(_click("approve_proposal", saved.proposal_id, APPROVER)).status == 200
    assert any("expired_trigger_id" in text for text in _ephemeral_texts(harness))
