"""Hypothesis: malformed, missing and hostile fields in every kind of Slack payload the app receives
(events, slash commands, block_actions, view_submission, message shortcuts, unknown types), correctly
signed, through the real WSGI app and Bolt. No exception escapes, no payload gets a 500 (issue 7,
"Hostile and bad input"), and no listener fails on one."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.blocks import ACTION_APPROVE, ACTION_FULL_DIFF, ACTION_REJECT, ACTION_REVERT
from handlers.modals import CALLBACK_APPLY, CALLBACK_REVERT
from handlers.shortcuts import CALLBACK_ID
from tests.handlers.conftest import APPROVER, CHANNEL, GROUP_MEMBER, PASTE
from tests.hostile.conftest import ListenerFailures
from tests.hostile.slack_app import Answer, SignedCaller

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SAMPLES = ["", PASTE, CHANNEL, APPROVER, "<!channel>", "p-1"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=40), st.sampled_from(SAMPLES))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=10), inner,
                                                                            max_size=4)), max_leaves=12)


def mangled(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """`base` with some fields dropped and some replaced by any JSON value (nested fields too)."""

    def mangle(draw: st.DrawFn) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in base.items():
            fate = draw(st.sampled_from(["keep", "keep", "drop", "replace", "recurse"]))
            if fate == "keep":
                out[key] = value
            elif fate == "replace":
                out[key] = draw(json_values)
            elif fate == "recurse" and isinstance(value, dict):
                out[key] = draw(mangled(value))
            elif fate == "recurse" and isinstance(value, list) and value and isinstance(value[0], dict):
                out[key] = [draw(mangled(value[0]))]
            elif fate != "drop":
                out[key] = value
        return out

    return st.composite(lambda draw: mangle(draw))()


EVENT = {"type": "event_callback", "team_id": "T0FAKETEAM", "api_app_id": "AKMSWHY", "event_id": "EvFuzz",
         "event_time": 1700000000, "authorizations": [{"user_id": "UKMSWHYBOT", "is_bot": True}],
         "event": {"type": "message", "channel": CHANNEL, "user": "UREQUESTER", "text": PASTE,
                   "ts": "1700000000.000100", "thread_ts": "1700000000.000001",
                   "blocks": [{"type": "rich_text", "elements": [
                       {"type": "rich_text_section", "elements": [{"type": "text", "text": PASTE}]}]}],
                   "attachments": [{"text": PASTE, "fields": [{"value": "x"}]}]}}
CLICK = {"type": "block_actions", "user": {"id": APPROVER}, "team": {"id": "T0FAKETEAM"},
         "trigger_id": "1.2.3", "channel": {"id": CHANNEL}, "container": {"channel_id": CHANNEL},
         "message": {"ts": "1700000000.000900", "thread_ts": "1700000000.000100"},
         "response_url": "http://127.0.0.1:9/unused",
         "actions": [{"action_id": ACTION_APPROVE, "value": "p-missing", "type": "button"}]}
SUBMISSION = {"type": "view_submission", "user": {"id": GROUP_MEMBER}, "team": {"id": "T0FAKETEAM"},
              "view": {"id": "V1", "callback_id": CALLBACK_APPLY, "private_metadata": "p-missing",
                       "state": {"values": {"reason": {"reason": {"value": "ticket 1"}}}}}}
SHORTCUT = {"type": "message_action", "callback_id": CALLBACK_ID, "user": {"id": APPROVER},
            "team": {"id": "T0FAKETEAM"}, "channel": {"id": CHANNEL}, "trigger_id": "1.2.3",
            "message": {"ts": "1700000000.000100", "text": PASTE, "user": "UREQUESTER"}}
COMMAND = {"command": "/kms-why", "text": PASTE, "channel_id": CHANNEL, "user_id": "UREQUESTER",
           "team_id": "T0FAKETEAM", "trigger_id": "1.2.3"}


def accepted_or_refused(answer: Answer, failures: ListenerFailures, before: int) -> None:
    assert answer.status < 500, answer
    assert b"Traceback" not in answer.body
    assert failures.messages[before:] == []


@FUZZ
@given(payload=mangled(EVENT))
def test_events(caller: SignedCaller, failures: ListenerFailures, payload: dict[str, Any]) -> None:
    before = len(failures.messages)
    accepted_or_refused(caller.json(payload), failures, before)


@FUZZ
@given(payload=mangled(CLICK), action=st.sampled_from([ACTION_APPROVE, ACTION_REJECT, ACTION_REVERT,
                                                       ACTION_FULL_DIFF]))
def test_block_actions(caller: SignedCaller, failures: ListenerFailures, payload: dict[str, Any],
                       action: str) -> None:
    if isinstance(payload.get("actions"), list) and payload["actions"] and isinstance(payload["actions"][0],
                                                                                      dict):
        payload["actions"][0].setdefault("action_id", action)
    before = len(failures.messages)
    accepted_or_refused(caller.interaction(payload), failures, before)


@FUZZ
@given(payload=mangled(SUBMISSION), callback=st.sampled_from([CALLBACK_APPLY, CALLBACK_REVERT]))
def test_view_submissions(caller: SignedCaller, failures: ListenerFailures, payload: dict[str, Any],
                          callback: str) -> None:
    if isinstance(payload.get("view"), dict):
        payload["view"].setdefault("callback_id", callback)
    before = len(failures.messages)
    accepted_or_refused(caller.interaction(payload), failures, before)


@FUZZ
@given(payload=mangled(SHORTCUT))
def test_message_shortcuts(caller: SignedCaller, failures: ListenerFailures, payload: dict[str, Any]) -> None:
    before = len(failures.messages)
    accepted_or_refused(caller.interaction(payload), failures, before)


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(sorted(COMMAND)), st.text(max_size=60), max_size=len(COMMAND)),
       keep=st.sets(st.sampled_from(sorted(COMMAND))))
def test_slash_commands(caller: SignedCaller, failures: ListenerFailures, fields: dict[str, str],
                        keep: set[str]) -> None:
    form = {key: COMMAND[key] for key in keep} | fields
    form["command"] = "/kms-why"
    before = len(failures.messages)
    accepted_or_refused(caller.form(form), failures, before)


@FUZZ
@given(body=st.one_of(json_values.map(lambda value: json.dumps(value).encode()), st.binary(max_size=300),
                      st.sampled_from([b"\xff\xfe{\"type\": \"event_callback\"}", b"payload=%FF%FE%80",
                                       b'{"type": "event_callback", "event": {"text": "\xc3\x28"}}'])),
       kind=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", ""]))
def test_any_signed_body_including_invalid_utf8(caller: SignedCaller, failures: ListenerFailures, body: bytes,
                                                kind: str) -> None:
    before = len(failures.messages)
    accepted_or_refused(caller.post(body, kind), failures, before)
