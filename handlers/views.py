"""Submissions of the confirmation modal: check again, then queue the decision.

Everything is re-checked from the store (the proposal named in `private_metadata` exists, the
submitter is an approver and not the requester, it has not expired or been decided). Problems are
shown in the modal itself (`response_action: errors`), next to the reason field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.jobs import DecisionJob
from bot.queue import QueueUnavailable
from handlers.approvers import STORE_DOWN, load_proposal, refusal
from handlers.deps import Deps, request_id
from handlers.modals import CALLBACKS, REASON_BLOCK, ModalAction, reason_of

ALREADY = "This decision was already submitted; the thread message will show the outcome."


def decide(deps: Deps, client: WebClient, body: dict[str, Any], action: ModalAction) -> str | None:
    """Queue the decision; None on success, else the error to show in the modal."""
    view = body.get("view") or {}
    user_id = str(body["user"]["id"])
    found = load_proposal(deps, str(view.get("private_metadata") or ""), None)
    if isinstance(found, str):
        return found
    why_not = refusal(deps, client, found, user_id, action)
    if why_not:
        return why_not
    reason = reason_of(view)
    if len(reason) < 3:
        return "Please give a reason: it is kept in the audit log."
    job = DecisionJob(job_id=f"{action}:{found.proposal_id}", request_id=request_id(),
                      proposal_id=found.proposal_id, action=action, user_id=user_id, reason=reason)
    try:
        return None if deps.submit(job) else ALREADY
    except QueueUnavailable:
        return STORE_DOWN


def register(app: App, deps: Deps) -> None:
    def listener(action: ModalAction) -> Callable[..., None]:
        def on_submit(ack: Callable[..., None], body: dict[str, Any], client: WebClient) -> None:
            problem = decide(deps, client, body, action)
            if problem:
                ack(response_action="errors", errors={REASON_BLOCK: problem[:150]})
            else:
                ack()

        return on_submit

    for action, callback_id in CALLBACKS.items():
        app.view(callback_id)(listener(action))
