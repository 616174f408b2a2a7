"""SlackThreadReplies against the fake Slack Web API: one message per analysis, typed errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.jobs import SlackPlace
from bot.ports import ThreadReplies, ThreadView
from bot.retry import is_transient
from bot.settings import Settings
from handlers.app import make_client
from handlers.replies import METADATA_EVENT, RESPONSE_URL_TS, SlackReplyError, SlackThreadReplies
from tests.fakes.slack_api import FakeSlackApi

CHANNEL = "C0REPLIES1"
THREAD = "1700000000.000100"


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        fake.add_message(CHANNEL, THREAD, "the paste")
        yield fake


@pytest.fixture
def replies(slack: FakeSlackApi) -> SlackThreadReplies:
    settings = Settings(SLACK_BOT_TOKEN="xoxb-t", SLACK_API_URL=slack.url)
    return SlackThreadReplies(make_client(settings))


def _place(thread_ts: str | None = THREAD, response_url: str | None = None) -> SlackPlace:
    return SlackPlace(channel_id=CHANNEL, thread_ts=thread_ts, user_id="UREQ", response_url=response_url)


def _view(state: str = "analysing") -> ThreadView:
    return ThreadView(analysis_id="message:C0REPLIES1:1700000000.000100", state=state)


def test_it_is_a_thread_replies_port(replies: SlackThreadReplies) -> None:
    port: ThreadReplies = replies
    assert port is replies


def test_posts_in_the_thread_with_metadata_then_updates_in_place(
    slack: FakeSlackApi, replies: SlackThreadReplies
) -> None:
    ts = replies.show(_place(), _view(), None)
    [post] = slack.calls("chat.postMessage")
    assert post.params["thread_ts"] == THREAD and post.params["channel"] == CHANNEL
    assert post.params["metadata"]["event_type"] == METADATA_EVENT
    assert post.params["metadata"]["event_payload"]["analysis_id"] == "message:C0REPLIES1:1700000000.000100"
    assert replies.show(_place(), _view("failed"), ts) == ts
    [message] = slack.bot_messages(CHANNEL, THREAD)
    assert message["ts"] == ts and "failed" in message["text"]


def test_a_job_that_ran_twice_leaves_one_message(slack: FakeSlackApi, replies: SlackThreadReplies) -> None:
    first = replies.show(_place(), _view(), None)
    second = replies.show(_place(), _view("failed"), None)  # the ts was never recorded
    assert first == second
    assert len(slack.bot_messages(CHANNEL, THREAD)) == 1
    assert slack.calls("conversations.replies")[-1].params["include_all_metadata"] in (True, "1", "true")


def test_a_slash_command_answer_is_top_level_and_found_again(slack: FakeSlackApi, replies: SlackThreadReplies
                                                             ) -> None:
    first = replies.show(_place(thread_ts=None), _view(), None)
    assert "thread_ts" not in slack.calls("chat.postMessage")[0].params
    assert replies.show(_place(thread_ts=None), _view("failed"), None) == first
    assert len(slack.bot_messages(CHANNEL)) == 1


def test_a_deleted_message_is_posted_again(slack: FakeSlackApi, replies: SlackThreadReplies) -> None:
    new_ts = replies.show(_place(), _view(), "1799999999.000001")
    assert new_ts != "1799999999.000001" and len(slack.bot_messages(CHANNEL, THREAD)) == 1


def test_rate_limit_is_waited_out(slack: FakeSlackApi, replies: SlackThreadReplies) -> None:
    slack.fail("chat.postMessage", status=429, retry_after=0)
    replies.show(_place(), _view(), None)
    assert len(slack.calls("chat.postMessage")) == 2 and len(slack.bot_messages(CHANNEL, THREAD)) == 1


@pytest.mark.parametrize(("failure", "transient"), [({"error": "invalid_auth"}, False),
                                                    ({"status": 503}, True),
                                                    ({"error": "internal_error"}, True)])
def test_other_slack_errors_are_typed_for_the_worker(
    slack: FakeSlackApi, replies: SlackThreadReplies, failure: dict[str, Any], transient: bool
) -> None:
    slack.fail("chat.postMessage", **failure)
    with pytest.raises(SlackReplyError) as raised:
        replies.show(_place(), _view(), None)
    assert raised.value.transient is transient and is_transient(raised.value) is transient


def test_unreachable_slack_is_transient() -> None:
    settings = Settings(SLACK_BOT_TOKEN="xoxb-t", SLACK_API_URL="http://127.0.0.1:9/api/")
    with pytest.raises(SlackReplyError) as raised:
        SlackThreadReplies(make_client(settings)).show(_place(), _view(), None)
    assert raised.value.transient and is_transient(raised.value)


def test_channel_the_bot_is_not_in_answers_through_the_response_url(
    slack: FakeSlackApi, replies: SlackThreadReplies
) -> None:
    slack.fail("chat.postMessage", error="not_in_channel")
    place = _place(thread_ts=None, response_url=slack.response_url("cmd1"))
    assert replies.show(place, _view(), None) == RESPONSE_URL_TS
    assert replies.show(place, _view("failed"), RESPONSE_URL_TS) == RESPONSE_URL_TS
    first, second = slack.wait_for("response_url", 2)
    assert first.params["response_type"] == "in_channel" and first.params["replace_original"] is False
    assert second.params["replace_original"] is True and "failed" in second.params["text"]


def test_tell_privately_is_an_escaped_ephemeral_in_the_thread(slack: FakeSlackApi, replies: SlackThreadReplies
                                                              ) -> None:
    replies.tell_privately(_place(), "UAPP", "Not applied by <@UAPP>: <!channel> changed")
    [call] = slack.calls("chat.postEphemeral")
    assert call.params["user"] == "UAPP" and call.params["thread_ts"] == THREAD
    assert "<@UAPP>" in call.params["text"] and "<!channel>" not in call.params["text"]
