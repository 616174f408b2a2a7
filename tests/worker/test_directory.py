"""handlers.directory.SlackApproverDirectory against the fake Slack Web API: fresh membership on every
call, and a typed error (never an empty guess) when Slack does not answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.ports import DirectoryUnavailable
from bot.settings import Settings
from handlers.app import make_client
from handlers.directory import SlackApproverDirectory
from tests.fakes.slack_api import FakeSlackApi


@pytest.fixture
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        fake.set_usergroup("SAPPROVERS", ["U1", "U2"])
        yield fake


@pytest.fixture
def directory(slack: FakeSlackApi) -> SlackApproverDirectory:
    settings = Settings(SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=slack.url)
    return SlackApproverDirectory(make_client(settings))


def test_members_are_read_fresh_on_every_call(slack: FakeSlackApi, directory: SlackApproverDirectory) -> None:
    assert directory.group_members("SAPPROVERS") == {"U1", "U2"}
    slack.set_usergroup("SAPPROVERS", ["U2"])
    assert directory.group_members("SAPPROVERS") == {"U2"}
    assert len(slack.calls("usergroups.users.list")) == 2


def test_a_group_slack_does_not_know_has_no_members(directory: SlackApproverDirectory) -> None:
    assert directory.group_members("SNOSUCHGROUP") == frozenset()


@pytest.mark.parametrize("error", ["missing_scope", "invalid_auth"])
def test_a_slack_error_raises_directory_unavailable(
    slack: FakeSlackApi, directory: SlackApproverDirectory, error: str
) -> None:
    slack.fail("usergroups.users.list", error=error)
    with pytest.raises(DirectoryUnavailable) as raised:
        directory.group_members("SAPPROVERS")
    assert (raised.value.group_id, raised.value.error) == ("SAPPROVERS", error)


def test_a_server_error_raises_directory_unavailable(
    slack: FakeSlackApi, directory: SlackApproverDirectory
) -> None:
    slack.fail("usergroups.users.list", status=503)
    with pytest.raises(DirectoryUnavailable, match="http_503"):
        directory.group_members("SAPPROVERS")


def test_slack_unreachable_raises_directory_unavailable() -> None:
    settings = Settings(SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL="http://127.0.0.1:9/api/")
    with pytest.raises(DirectoryUnavailable):
        SlackApproverDirectory(make_client(settings)).group_members("SAPPROVERS")
