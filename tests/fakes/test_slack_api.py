"""The fake Slack Web API answers slack_sdk's real WebClient the way Slack does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from tests.fakes.slack_api import FakeSlackApi


@pytest.fixture()
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        yield fake


def _client(slack: FakeSlackApi, token: str = "xoxb-test") -> WebClient:
    return WebClient(token=token, base_url=slack.url)


def test_post_update_and_thread_with_metadata(slack: FakeSlackApi) -> None:
    slack.add_message("C1", "1700000000.000100", "AccessDenied on kms:Decrypt")
    client = _client(slack)
    posted = client.chat_postMessage(
        channel="C1", thread_ts="1700000000.000100", text="analysing",
        metadata={"event_type": "kms_why_analysis", "event_payload": {"analysis_id": "a1"}},
    )
    client.chat_update(channel="C1", ts=posted["ts"], text="answered")
    without = client.conversations_replies(channel="C1", ts="1700000000.000100")
    with_meta = client.conversations_replies(channel="C1", ts="1700000000.000100", include_all_metadata=True)
    assert [m["text"] for m in without["messages"]] == ["AccessDenied on kms:Decrypt", "answered"]
    assert "metadata" not in without["messages"][1]
    assert with_meta["messages"][1]["metadata"]["event_payload"] == {"analysis_id": "a1"}
    assert slack.calls("chat.postMessage")[0].params["metadata"]["event_type"] == "kms_why_analysis"
    assert slack.calls("chat.postMessage")[0].token == "xoxb-test"


def test_unknown_thread_and_message_are_slack_errors(slack: FakeSlackApi) -> None:
    client = _client(slack)
    with pytest.raises(SlackApiError) as missing:
        client.conversations_replies(channel="C1", ts="1.2")
    assert missing.value.response["error"] == "thread_not_found"
    with pytest.raises(SlackApiError) as gone:
        client.chat_update(channel="C1", ts="1.2", text="x")
    assert gone.value.response["error"] == "message_not_found"


def test_block_limits_refused_like_slack(slack: FakeSlackApi) -> None:
    client = _client(slack)
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C1", text="t", blocks=too_long)
    assert refused.value.response["error"] == "invalid_blocks"
    too_many = [{"type": "divider"}] * 51
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C1", text="t", blocks=too_many)


def test_rate_limit_then_success_with_retry_handler(slack: FakeSlackApi) -> None:
    slack.fail("chat.postMessage", status=429, retry_after=0)
    client = WebClient(token="xoxb-t", base_url=slack.url, retry_handlers=[RateLimitErrorRetryHandler(2)])
    client.chat_postMessage(channel="C1", text="hello")
    assert len(slack.calls("chat.postMessage")) == 2
    assert len(slack.bot_messages("C1")) == 1


def test_invalid_auth_and_server_error(slack: FakeSlackApi) -> None:
    slack.fail("chat.postMessage", error="invalid_auth")
    slack.fail("chat.postMessage", status=503)
    client = _client(slack)
    with pytest.raises(SlackApiError) as auth:
        client.chat_postMessage(channel="C1", text="x")
    assert auth.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as server:
        client.chat_postMessage(channel="C1", text="x")
    assert server.value.response.status_code == 503
    assert client.chat_postMessage(channel="C1", text="x")["ok"]


def test_tokens_checked_when_configured() -> None:
    with FakeSlackApi(tokens=["xoxb-good"]) as slack:
        assert _client(slack, "xoxb-good").auth_test()["user_id"] == slack.bot_user_id
        with pytest.raises(SlackApiError) as bad:
            _client(slack, "xoxb-bad").auth_test()
        assert bad.value.response["error"] == "invalid_auth"


def test_views_usergroups_ephemeral_permalink_and_response_url(slack: FakeSlackApi) -> None:
    slack.set_usergroup("S1", ["U1", "U2"])
    client = _client(slack)
    assert client.usergroups_users_list(usergroup="S1")["users"] == ["U1", "U2"]
    with pytest.raises(SlackApiError):
        client.usergroups_users_list(usergroup="S404")
    view = {"type": "modal", "callback_id": "cb", "private_metadata": "p1",
            "title": {"type": "plain_text", "text": "Approve"}, "blocks": []}
    opened = client.views_open(trigger_id="trig", view=view)
    assert opened["view"]["private_metadata"] == "p1"
    assert slack.calls("views.open")[0].params["trigger_id"] == "trig"
    client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert slack.ephemerals()[0]["user"] == "U1"
    link = client.chat_getPermalink(channel="C1", message_ts="1700000000.000100")
    assert link["permalink"].endswith("/archives/C1/p1700000000000100")
    WebhookClient(slack.response_url("abc")).send(text="done", response_type="in_channel")
    posted = slack.wait_for("response_url")
    assert posted[0].params["text"] == "done" and posted[0].path.endswith("/abc")
