"""Modals (pure): the approval confirmation, and the full diff of a long patch.

The confirmation carries only the proposal id in `private_metadata`; the submission handler reads
the proposal again from the store, so nothing in the modal is trusted on the way back.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from bot.approval import Proposal
from handlers.text import code, code_block, plain, split_lines

MAX_DIFF_SECTIONS = 90  # a modal holds 100 blocks; leave room for the rest
ModalAction = Literal["apply", "revert"]

CALLBACK_APPLY = "kms_why_apply"
CALLBACK_REVERT = "kms_why_revert"
CALLBACKS: dict[ModalAction, str] = {"apply": CALLBACK_APPLY, "revert": CALLBACK_REVERT}
REASON_BLOCK = "reason"
REASON_ACTION = "reason"
REASON_MAX = 500
_SLACK_ID = re.compile(r"^[UWC][A-Z0-9]{2,20}$")


def _mention(prefix: str, slack_id: str) -> str:
    # Ids come from the store, which got them from Slack; still, only a well-formed id becomes a mention.
    return f"<{prefix}{slack_id}>" if _SLACK_ID.match(slack_id) else code(slack_id)


def diff_sections(diff: str) -> list[dict[str, Any]]:
    """The whole diff as code-block sections of at most 3000 characters each."""
    chunks = split_lines(diff, 2800)[:MAX_DIFF_SECTIONS]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": code_block(chunk)}} for chunk in chunks]


def approval_modal(proposal: Proposal, action: ModalAction) -> dict[str, Any]:
    verb = "Apply" if action == "apply" else "Revert"
    intro = (
        f"{verb} this change to the key policy of {code(proposal.key_arn)}?"
        if action == "apply"
        else f"Restore the key policy of {code(proposal.key_arn)} to what it was before this change?"
    )
    who = f"Requested by {_mention('@', proposal.requester_id)} in {_mention('#', proposal.channel_id)}."
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": intro}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": who}]},
        *diff_sections(proposal.diff or "(no diff recorded)"),
        {
            "type": "input",
            "block_id": REASON_BLOCK,
            "label": {"type": "plain_text", "text": "Reason (kept in the audit log)"},
            "element": {"type": "plain_text_input", "action_id": REASON_ACTION, "multiline": True,
                        "min_length": 3, "max_length": REASON_MAX},
        },
    ]
    return {
        "type": "modal",
        "callback_id": CALLBACKS[action],
        "private_metadata": proposal.proposal_id,
        "title": {"type": "plain_text", "text": f"{verb} key-policy patch"[:24]},
        "submit": {"type": "plain_text", "text": verb},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def diff_modal(title: str, diff: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": plain(title, 24)},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": diff_sections(diff or "(empty diff)"),
    }


def reason_of(view: dict[str, Any]) -> str:
    """The reason typed in a submitted approval modal ('' when absent)."""
    values = view.get("state", {}).get("values", {})
    typed = values.get(REASON_BLOCK, {}).get(REASON_ACTION, {}).get("value")
    return str(typed).strip() if typed else ""
