"""Events over signed HTTP: the real Bolt app, the real queue on Redis, the fake Slack Web API."""

from __future__ import annotations

import json
import time

from bot.jobs import AnalyseJob
from tests.handlers.conftest import CHANNEL, PASTE, REQUESTER, Harness, HarnessFactory, message_event


def test_url_verification_answers_the_challenge(harness: Harness) -> None:
    body = json.dumps({"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"})
    reply = harness.signed(body, "application/json")
    assert reply.status == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in reply.body


def test_bad_signature_is_401_and_queues_nothing(harness: Harness) -> None:
    reply = harness.event(message_event(PASTE), secret="not-the-secret")
    assert reply.status == 401
    assert harness.jobs() == []


def test_timestamp_older_than_five_minutes_is_401(harness: Harness) -> None:
    reply = harness.event(message_event(PASTE), timestamp=int(time.time()) - 6 * 60)
    assert reply.status == 401
    assert harness.jobs() == []


def test_pasted_error_queues_one_analysis_for_its_own_thread(harness: Harness) -> None:
    reply = harness.event(message_event(PASTE, ts="1700000000.000200"), event_id="Ev01PASTE")
    assert reply.status == 200
    [job] = harness.jobs()
    assert isinstance(job, AnalyseJob)
    assert job.place.channel_id == CHANNEL and job.place.thread_ts == "1700000000.000200"
    assert job.place.message_ts == "1700000000.000200" and job.place.user_id == REQUESTER
    assert "kms:Decrypt" in job.text and job.source == "message" and job.request_id == "Ev01PASTE"


def test_paste_inside_a_thread_is_answered_in_that_thread(harness: Harness) -> None:
    harness.event(message_event(PASTE, ts="1700000000.000300", thread_ts="1700000000.000100"))
    [job] = harness.jobs()
    assert isinstance(job, AnalyseJob)
    assert job.place.thread_ts == "1700000000.000100"


def test_slack_encoding_is_undone_before_parsing(harness: Harness) -> None:
    encoded = PASTE.replace("User:", "&lt;code&gt; User:") + " &amp; <https://docs.aws.amazon.com|docs>"
    harness.event(message_event(f"```{encoded}```"))
    [job] = harness.jobs()
    assert isinstance(job, AnalyseJob)
    assert "<code> User:" in job.text and "& docs" in job.text and "```" not in job.text


def test_rich_text_paste_is_read_from_its_blocks(harness: Harness) -> None:
    blocks = [{"type": "rich_text", "block_id": "x", "elements": [
        {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": PASTE}]}]}]
    harness.event(message_event("(see blocks)", blocks=blocks))
    [job] = harness.jobs()
    assert isinstance(job, AnalyseJob)
    assert job.text.startswith("An error occurred (AccessDeniedException)")


def test_retried_event_is_acknowledged_and_adds_nothing(harness: Harness) -> None:
    event = message_event(PASTE)
    assert harness.event(event, event_id="Ev02RETRY").status == 200
    again = harness.event(event, event_id="Ev02RETRY", retry_num=1)
    assert again.status == 200
    assert len(harness.jobs()) == 1


def test_chatter_gets_nothing_at_all(harness: Harness) -> None:
    reply = harness.event(message_event("lunch at noon? also my S3 upload got a 403"))
    assert reply.status == 200
    assert harness.jobs() == []
    assert [c.method for c in harness.slack.calls() if c.method != "auth.test"] == []


def test_bot_messages_edits_and_own_posts_are_ignored(harness: Harness) -> None:
    harness.event(message_event(PASTE, subtype="bot_message", bot_id="B0OTHER", ts="1.1"))
    harness.event(message_event(PASTE, bot_id="B0OTHER", ts="1.2"))
    edited = {"type": "message", "subtype": "message_changed", "channel": CHANNEL, "ts": "1.4",
              "message": {"type": "message", "user": REQUESTER, "text": PASTE, "ts": "1.3"}}
    harness.event(edited)
    harness.event(message_event(PASTE, user=harness.slack.bot_user_id, ts="1.5"))
    assert harness.jobs() == []


def test_mention_and_its_message_event_are_answered_once(harness: Harness) -> None:
    ts = "1700000000.000400"
    mention = {**message_event(f"<@{harness.slack.bot_user_id}> {PASTE}", ts=ts), "type": "app_mention"}
    assert harness.event(mention, event_id="Ev03MENTION").status == 200
    assert harness.event(message_event(f"<@{harness.slack.bot_user_id}> {PASTE}", ts=ts),
                         event_id="Ev03MESSAGE").status == 200
    assert len(harness.jobs()) == 1


def test_unwatched_channel_is_ignored_but_a_mention_there_is_answered(make_harness: HarnessFactory) -> None:
    harness = make_harness(KMS_WHY_CHANNELS="C0OTHER001")
    harness.event(message_event(PASTE, ts="2.1"))
    assert harness.jobs() == []
    harness.event({**message_event(PASTE, ts="2.2"), "type": "app_mention"})
    [job] = harness.jobs()
    assert isinstance(job, AnalyseJob) and job.source == "mention"


def test_redis_down_answers_5xx_so_slack_retries(make_harness: HarnessFactory) -> None:
    harness = make_harness(redis_down=True)
    reply = harness.event(message_event(PASTE))
    assert 500 <= reply.status < 600


def test_health_ready_and_metrics(harness: Harness, make_harness: HarnessFactory) -> None:
    assert harness.request("GET", "/healthz").status == 200
    assert harness.request("GET", "/readyz").status == 200
    metrics = harness.request("GET", "/metrics")
    assert metrics.status == 200 and "kms_why_up 1" in metrics.body
    down = make_harness(redis_down=True)
    assert down.request("GET", "/readyz").status == 503
    assert down.request("GET", "/healthz").status == 200
    assert harness.request("GET", "/nowhere").status == 404
