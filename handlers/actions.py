"""Buttons on the thread message: Approve & apply, Revert (open the confirmation modal), Reject
(queued at once), Show full diff (a read-only modal).

A button's value is only an id; the proposal is read from the store and checked on every click
(exists, made in this channel, the clicker may decide it now). A refusal is told to the clicker alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.approval import DecisionAction, Proposal
from bot.jobs import DecisionJob
from bot.queue import QueueUnavailable
from handlers.approvers import STORE_DOWN, click_channel, load_proposal, refusal
from handlers.blocks import ACTION_APPROVE, ACTION_FULL_DIFF, ACTION_REJECT, ACTION_REVERT, COMMANDS_SUFFIX
from handlers.deps import Deps, request_id
from handlers.modals import ModalAction, approval_modal, diff_modal

log = logging.getLogger(__name__)

REJECT_QUEUED = "Rejected: the thread message will show it. Nothing was changed."
REJECT_ALREADY = "This proposal was already rejected."
NO_DIFF = "That is no longer available (the analysis expired); paste the error again."


def tell(client: WebClient, body: dict[str, Any], text: str) -> None:
    """An ephemeral note to the clicker, in the thread of the message the button is on."""
    channel = click_channel(body)
    message = body.get("message") or {}
    if not channel:
        log.warning("cannot tell %s privately: no channel in the payload", body.get("user", {}).get("id"))
        return
    try:
        client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text=text,
                                  thread_ts=message.get("thread_ts"))
    except SlackApiError as problem:
        log.warning("chat.postEphemeral failed: %s", problem.response.get("error"))


def _checked(deps: Deps, client: WebClient, body: dict[str, Any], action: DecisionAction) -> Proposal | None:
    """The proposal the clicked button names, when this clicker may take `action` on it; else tells why."""
    value = str((body.get("actions") or [{}])[0].get("value") or "")
    found = load_proposal(deps, value, click_channel(body))
    if isinstance(found, str):
        tell(client, body, found)
        return None
    why_not = refusal(deps, client, found, body["user"]["id"], action)
    if why_not:
        tell(client, body, why_not)
        return None
    return found


def _open(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
    """views.open with the click's trigger_id; if Slack refuses (the trigger expired after 3 s), say so."""
    try:
        client.views_open(trigger_id=body["trigger_id"], view=view)
    except SlackApiError as problem:
        error = problem.response.get("error")
        log.warning("views.open failed: %s", error)
        tell(client, body, f"Slack could not open the window ({error}); please click again.")


def _open_confirmation(deps: Deps, client: WebClient, body: dict[str, Any], action: ModalAction) -> None:
    proposal = _checked(deps, client, body, action)
    if proposal is not None:
        _open(client, body, approval_modal(proposal, action))


def _reject(deps: Deps, client: WebClient, body: dict[str, Any]) -> None:
    proposal = _checked(deps, client, body, "reject")
    if proposal is None:
        return
    job = DecisionJob(job_id=f"reject:{proposal.proposal_id}", request_id=request_id(),
                      proposal_id=proposal.proposal_id, action="reject", user_id=body["user"]["id"])
    try:
        queued = deps.submit(job)
    except QueueUnavailable:
        tell(client, body, STORE_DOWN)
        return
    tell(client, body, REJECT_QUEUED if queued else REJECT_ALREADY)


def _fix_text(deps: Deps, value: str, channel_id: str | None) -> tuple[str, str] | None:
    """(title, text) a "see all" button names: `analysis_id|diagnosis|fix` (its diff) or with
    `|commands` (its CLI script), read from the stored analysis of this channel."""
    analysis_id, diagnosis_index, fix_index, *what = [*value.split("|"), "", ""]
    try:
        record = deps.store.get_analysis(analysis_id)
    except Exception as problem:  # QueueUnavailable, or a raw Redis error: the store does not wrap this read
        log.warning("analysis %s unreadable: %s", analysis_id, type(problem).__name__)
        return None
    if record is None or record.place.channel_id != channel_id:
        return None
    try:
        fix = record.view.diagnoses[int(diagnosis_index)].fixes[int(fix_index)]
    except (ValueError, IndexError):
        return None
    if what[0] == COMMANDS_SUFFIX.strip("|"):
        return ("AWS CLI commands", "\n".join(fix.commands)) if fix.commands else None
    return ("Full diff", fix.diff) if fix.diff else None


def _see_all(deps: Deps, client: WebClient, body: dict[str, Any]) -> None:
    value = str((body.get("actions") or [{}])[0].get("value") or "")
    found = _fix_text(deps, value, click_channel(body))
    if found is None:
        tell(client, body, NO_DIFF)
        return
    _open(client, body, diff_modal(*found))


def register(app: App, deps: Deps) -> None:
    def listener(run: Callable[[Deps, WebClient, dict[str, Any]], None]) -> Callable[..., None]:
        def on_click(ack: Callable[[], None], body: dict[str, Any], client: WebClient) -> None:
            ack()
            run(deps, client, body)

        return on_click

    app.action(ACTION_APPROVE)(listener(lambda d, c, b: _open_confirmation(d, c, b, "apply")))
    app.action(ACTION_REVERT)(listener(lambda d, c, b: _open_confirmation(d, c, b, "revert")))
    app.action(ACTION_REJECT)(listener(_reject))
    app.action(ACTION_FULL_DIFF)(listener(_see_all))
