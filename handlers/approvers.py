"""Who clicked, and may they: approval rules from bot.approval, group membership from Slack."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.approval import DecisionAction, Proposal, approval_refusal
from bot.queue import QueueUnavailable
from handlers.deps import Deps

log = logging.getLogger(__name__)

STORE_DOWN = (
    "kms-why cannot reach its store right now (Redis unavailable); nothing was changed. Try again shortly."
)
GONE = "This proposal no longer exists (it may have expired); paste the error again for a fresh analysis."


def group_members(client: WebClient, groups: frozenset[str]) -> frozenset[str]:
    """Members of the approver user groups, read fresh (a removal takes effect at once).

    A group Slack will not list adds nobody: when in doubt, the click is refused, never allowed."""
    members: set[str] = set()
    for group in sorted(groups):
        try:
            users = client.usergroups_users_list(usergroup=group).get("users") or []
        except SlackApiError as problem:
            log.warning("cannot list user group %s: %s", group, problem.response.get("error"))
            continue
        members.update(str(user) for user in users)
    return frozenset(members)


def refusal(
    deps: Deps, client: WebClient, proposal: Proposal, user_id: str, action: DecisionAction
) -> str | None:
    settings = deps.settings
    direct = user_id in settings.approver_users
    groups = frozenset() if direct else group_members(client, settings.approver_groups)
    return approval_refusal(
        proposal, user_id, approver_users=settings.approver_users, approver_group_members=groups,
        now=deps.now(), action=action,
    )


def load_proposal(deps: Deps, proposal_id: str, channel_id: str | None) -> Proposal | str:
    """The proposal a button names, or why the click cannot use it."""
    try:
        proposal = deps.store.get_proposal(proposal_id) if proposal_id else None
    except QueueUnavailable:
        return STORE_DOWN
    if proposal is None:
        return GONE
    if channel_id is not None and proposal.channel_id != channel_id:
        return "This button does not belong to a proposal made in this channel."
    return proposal


def click_channel(body: dict[str, Any]) -> str | None:
    channel = body.get("channel") or {}
    return channel.get("id") or (body.get("container") or {}).get("channel_id")
