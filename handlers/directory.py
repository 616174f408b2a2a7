"""The worker's view of Slack user groups (bot.ports.ApproverDirectory), read fresh on every call.

Caching would reopen the window the worker's check closes: someone removed from an approver group
between the modal's submit and the worker's run must be refused.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import metrics
from bot.ports import DirectoryUnavailable

# Slack's answer for a group id it does not know: an answer (nobody is in it), not a failure.
NO_SUCH_GROUP = frozenset({"no_such_subteam", "subteam_not_found"})


class SlackApproverDirectory:
    """Implements bot.ports.ApproverDirectory with `usergroups.users.list` (give it make_client(settings))."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def group_members(self, group_id: str) -> frozenset[str]:
        try:
            answer = self._client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as problem:
            status = problem.response.status_code
            # Slack's `error` is a short code on HTTP 200; on a 5xx it is slack_sdk's note on the body.
            error = str(problem.response.get("error") or "") if status == 200 else ""
            error = error or f"http_{status}"
            metrics.count_slack_error("usergroups.users.list", error)
            if error in NO_SUCH_GROUP:
                return frozenset()
            raise DirectoryUnavailable(group_id, error) from problem
        except OSError as problem:  # connection refused or reset, timeouts
            metrics.count_slack_error("usergroups.users.list", type(problem).__name__)
            raise DirectoryUnavailable(group_id, type(problem).__name__) from problem
        users = answer.get("users")
        if not isinstance(users, list):
            raise DirectoryUnavailable(group_id, "the answer carried no user list")
        return frozenset(str(user) for user in users)
