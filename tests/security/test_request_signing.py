"""Forged and replayed requests to `/slack/events` are refused before any listener runs (issue 7,
"Approval security"): Bolt's v0 signature check, served by the real WSGI app."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse

import pytest

from handlers.modals import CALLBACK_APPLY
from tests.handlers.conftest import APPROVER, PASTE, Harness, message_event, proposal
from tests.handlers.test_interactions_http import _click, _submission

FORGED_SECRET = "not-the-signing-secret-0000000000"


def _submit_body(harness: Harness, proposal_id: str) -> str:
    return urllib.parse.urlencode({"payload": json.dumps(_submission(CALLBACK_APPLY, proposal_id, APPROVER))})


def _nothing_happened(harness: Harness) -> None:
    assert harness.jobs() == []
    assert [c.method for c in harness.slack.calls() if c.method != "auth.test"] == []


@pytest.mark.parametrize("age", [301, 3600, -301])
def test_a_replayed_or_future_dated_submission_is_refused(harness: Harness, age: int) -> None:
    saved = proposal()
    harness.store.save_proposal(saved)
    reply = harness.signed(_submit_body(harness, saved.proposal_id), "application/x-www-form-urlencoded",
                           timestamp=int(time.time()) - age)
    assert reply.status == 401 and "Traceback" not in reply.body
    _nothing_happened(harness)


def test_a_submission_signed_with_another_secret_is_refused(harness: Harness) -> None:
    saved = proposal()
    harness.store.save_proposal(saved)
    reply = harness.signed(_submit_body(harness, saved.proposal_id), "application/x-www-form-urlencoded",
                           secret=FORGED_SECRET)
    assert reply.status == 401
    _nothing_happened(harness)


def test_a_signed_click_whose_body_was_altered_is_refused(harness: Harness) -> None:
    saved = proposal()
    harness.store.save_proposal(saved)
    body = urllib.parse.urlencode({"payload": json.dumps(_click("approve_proposal", saved.proposal_id,
                                                                APPROVER))})
    stamp = str(int(time.time()))
    good = harness.signed(body, "application/x-www-form-urlencoded", timestamp=int(stamp))
    assert good.status == 200  # the same body, correctly signed, is accepted
    harness.slack.reset_calls()
    signature = "v0=" + hmac.new(harness.secret.encode(), f"v0:{stamp}:{body}".encode(),
                                 hashlib.sha256).hexdigest()
    tampered = body.replace("UAPPROVER1", "UAPPROVER2")
    reply = harness.request("POST", "/slack/events", tampered.encode(), {
        "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature})
    assert reply.status == 401
    assert harness.slack.calls("views.open") == []


@pytest.mark.parametrize("drop", ["X-Slack-Signature", "X-Slack-Request-Timestamp", "both"])
def test_a_request_missing_its_signature_headers_is_refused(harness: Harness, drop: str) -> None:
    body = json.dumps({"type": "event_callback", "event_id": "EvForged", "team_id": "T0FAKETEAM",
                       "event": message_event(PASTE)})
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": str(int(time.time())),
               "X-Slack-Signature": "v0=" + "0" * 64}
    for name in (["X-Slack-Signature", "X-Slack-Request-Timestamp"] if drop == "both" else [drop]):
        headers.pop(name)
    reply = harness.request("POST", "/slack/events", body.encode(), headers)
    assert reply.status == 401
    _nothing_happened(harness)


def test_a_garbage_timestamp_is_refused_not_a_500(harness: Harness) -> None:
    body = json.dumps({"type": "event_callback", "event_id": "EvForged", "event": message_event(PASTE)})
    reply = harness.request("POST", "/slack/events", body.encode(), {
        "Content-Type": "application/json", "X-Slack-Request-Timestamp": "yesterday",
        "X-Slack-Signature": "v0=abc"})
    assert reply.status == 401
    _nothing_happened(harness)
