"""ThreadView -> the one thread message (Block Kit + a plain-text fallback). Pure functions.

Every user-controlled string goes through `handlers.text` (inline code for identifiers, escaped text
for sentences), every text is clipped to Slack's 3000 characters, and a message never exceeds 50
blocks: diagnoses that do not fit are counted, not dropped silently.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.approval import proposable_fix
from bot.diagnosis.models import LAYER_WORDS, Diagnosis, Fix, Lock, UnseenRemedy
from bot.ports import ThreadView
from handlers.text import clip, code, code_block, escape_keeping_user_mentions, escape_mrkdwn, plain

MAX_BLOCKS = 50
MAX_TEXT = 3000
DIFF_PREVIEW_CHARS = 2200
COMMANDS_PREVIEW_CHARS = 1200
COMMANDS_SUFFIX = "|commands"  # on a "see all" button's value: the fix's CLI script, not its diff
READ_ONLY_CLI = re.compile(r"^aws \S+ (get|describe|list)-\S*")
MAX_FIXES_SHOWN = 2
MAX_REMEDIES_SHOWN = 2

ACTION_APPROVE = "approve_proposal"
ACTION_REJECT = "reject_proposal"
ACTION_REVERT = "revert_proposal"
ACTION_FULL_DIFF = "show_full_diff"

FIX_WORDS = {
    "key_policy_patch": "key-policy patch",
    "iam_policy_patch": "IAM policy change",
    "org_policy_change": "organization policy change",
    "reencrypt": "re-encrypt",
    "other": "fix",
}
VERDICT_WORDS = {
    "implicit_deny": "implicit deny: no policy allows it",
    "explicit_deny": "explicit deny: a statement denies it",
    "allow": "allow: the policies read allow it, so something not seen denied it",
}
BANNERS = {
    "analysing": "🔎 Analysing this KMS error…",
    "answered": "",
    "applied": "✅ Patch applied.",
    "rejected": "🚫 Patch rejected: nothing was changed.",
    "reverted": "↩️ Patch reverted: the key policy is back to what it was.",
    "expired": "⌛ This proposal expired: nothing was changed. Paste the error again for a fresh analysis.",
    "failed": "⚠️ The analysis failed.",
}


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(mrkdwn, MAX_TEXT)}}


def _context(mrkdwn: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(mrkdwn, MAX_TEXT)}]}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": plain(text, 75)},
                              "action_id": action_id, "value": value}
    if style:
        button["style"] = style
    return button


def _or_unknown(value: str | None) -> str:
    return code(value) if value else "_(not in the paste)_"


def _lock_line(lock: Lock) -> str:
    mark = "✅" if lock.allows else "❌" if lock.allows is False else "❔"
    verdict = "allows" if lock.allows else "does not allow" if lock.allows is False else "could not be read"
    line = f"{mark} *{LAYER_WORDS[lock.layer]}* {verdict}"
    if lock.policy:
        line += f" — {code(lock.policy)}"
    if lock.statement is not None:
        line += f" statement {code(lock.statement)}"
    if lock.explain:
        line += f"\n      {escape_mrkdwn(lock.explain)}"
    return line


def failing_layers(diagnosis: Diagnosis) -> list[str]:
    return [LAYER_WORDS[lock.layer] for lock in diagnosis.locks if lock.allows is False]


def _what_blocks(diagnosis: Diagnosis) -> list[dict[str, Any]]:
    denial = diagnosis.denial
    key = denial.resource_arn or denial.key_id
    lines = [
        f"*Denied:* {_or_unknown(denial.action)}",
        f"*To:* {_or_unknown(denial.principal_arn)}",
        f"*On key:* {_or_unknown(key)}",
        f"*Policies say:* {VERDICT_WORDS[diagnosis.verdict]}",
    ]
    if diagnosis.cross_account:
        lines.append(
            f"*Cross-account:* the caller is in account {_or_unknown(diagnosis.principal_account)}, "
            f"the key in account {_or_unknown(diagnosis.key_account)}: both accounts' policies must allow."
        )
    header = plain(f"{denial.action or 'KMS request'} denied", 150)
    return [{"type": "header", "text": {"type": "plain_text", "text": header}}, _section("\n".join(lines))]


def _why_blocks(diagnosis: Diagnosis) -> list[dict[str, Any]]:
    cause = f"*Cause:* {escape_mrkdwn(diagnosis.cause.summary)}"
    layers = failing_layers(diagnosis)
    if layers:
        cause += f"\n*Blocked by:* {', '.join(layers)}"
    locks = "\n".join(_lock_line(lock) for lock in diagnosis.locks) or "_no locks_"
    blocks = [_section(cause), _section(locks)]
    if diagnosis.unseen or diagnosis.unseen_details:
        names = ", ".join(code(item) for item in diagnosis.unseen) or "some context"
        details = [f"• {escape_mrkdwn(line)}" for line in diagnosis.unseen_details]
        blocks.append(_section("\n".join([f"*Could not see:* {names}", *details])))
    blocks += _remedy_blocks(diagnosis)
    if diagnosis.question:
        blocks.append(_section(f"❓ {escape_mrkdwn(diagnosis.question)}"))
    asides = [f"From CloudTrail: {escape_mrkdwn(fact)}" for fact in diagnosis.inferred]
    asides += [escape_mrkdwn(note) for note in diagnosis.notes]
    if asides:
        blocks.append(_context("\n".join(asides)))
    return blocks


def _remedy_blocks(diagnosis: Diagnosis) -> list[dict[str, Any]]:
    """The statements "Add this statement" refers to, whole: a statement cut midway would be wrong."""
    blocks = [_remedy_section(remedy) for remedy in diagnosis.unseen_remedies[:MAX_REMEDIES_SHOWN]]
    hidden = len(diagnosis.unseen_remedies) - MAX_REMEDIES_SHOWN
    if hidden > 0:
        blocks.append(_context(f"{hidden} more statement(s) for what could not be seen: "
                               "see `kms-why explain`."))
    return blocks


def _remedy_section(remedy: UnseenRemedy) -> dict[str, Any]:
    what = ", ".join(LAYER_WORDS.get(item) or item for item in remedy.what)
    # The collector's sentence says which policy the statement goes in (key, identity or trust policy).
    where = remedy.remedy or "Add this statement."
    head = f"*To let the reader role see the {escape_mrkdwn(what)}:* {escape_mrkdwn(where)}\n"
    for indent in (2, None):
        text = head + code_block(json.dumps(remedy.statement, indent=indent, ensure_ascii=False))
        if len(text) <= MAX_TEXT:
            return _section(text)
    return _section(head + "_too long for Slack: run `kms-why explain` with the same paste to see it._")


def _fix_blocks(fix: Fix, more_value: str, label: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The fix's blocks, and "see all" buttons for a diff or a CLI script that had to be cut."""
    proof = ("✅ *Proven:* re-evaluating the policies with this change allows the request."
             if fix.verified else "⚠️ *Not proven:* re-evaluation could not confirm this change.")
    head = f"*Fix{label} ({FIX_WORDS[fix.kind]}):* {escape_mrkdwn(fix.summary)}\n{proof}"
    if fix.blast_radius:
        head += f"\n*Also affects:* {escape_mrkdwn(fix.blast_radius)}"
    blocks = [_section(head)]
    buttons: list[dict[str, Any]] = []
    if fix.diff:
        preview = fix.diff
        if len(preview) > DIFF_PREVIEW_CHARS:
            preview = preview[:DIFF_PREVIEW_CHARS].rsplit("\n", 1)[0] + "\n…"
            buttons.append(_button(f"Show full diff{label}", ACTION_FULL_DIFF, more_value))
        blocks.append(_section(code_block(preview)))
    script = "\n".join(fix.commands or _verify_commands(fix))
    if len(script) > COMMANDS_PREVIEW_CHARS:
        # A long script (a policy in a heredoc) cut midway would be wrong: show the read-only checks.
        checks = [line for line in script.splitlines() if READ_ONLY_CLI.match(line)]
        script = "\n".join(checks) or script[: COMMANDS_PREVIEW_CHARS // 2] + "\n…"
        buttons.append(_button(f"All CLI commands{label}", ACTION_FULL_DIFF, more_value + COMMANDS_SUFFIX))
    if script:
        blocks.append(_section(clip("*Verify with the AWS CLI:*\n" + code_block(script), MAX_TEXT)))
    return blocks, buttons


def _verify_commands(fix: Fix) -> list[str]:
    if fix.kind != "key_policy_patch" or not fix.key_arn:
        return []
    region = fix.key_arn.split(":")[3] if fix.key_arn.count(":") >= 5 else ""
    return [f"aws kms get-key-policy --key-id {fix.key_arn} --policy-name default"
            + (f" --region {region}" if region else "") + " --output text"]


def diagnosis_blocks(view: ThreadView, index: int) -> list[dict[str, Any]]:
    diagnosis = view.diagnoses[index]
    blocks = _what_blocks(diagnosis) + _why_blocks(diagnosis)
    buttons: list[dict[str, Any]] = []
    several = len(diagnosis.fixes) > 1
    for fix_index, fix in enumerate(diagnosis.fixes[:MAX_FIXES_SHOWN]):
        label = f" {fix_index + 1}" if several else ""
        fix_blocks, more = _fix_blocks(fix, f"{view.analysis_id}|{index}|{fix_index}", label)
        blocks += fix_blocks
        buttons += more
    if len(diagnosis.fixes) > MAX_FIXES_SHOWN:
        hidden = len(diagnosis.fixes) - MAX_FIXES_SHOWN
        blocks.append(_context(f"{hidden} more fix(es): see `kms-why explain`."))
    proposal_id = view.proposal_ids[index] if index < len(view.proposal_ids) else None
    proposed = proposable_fix(diagnosis)
    if view.state == "answered" and proposal_id and proposed is not None:
        which = f" fix {diagnosis.fixes.index(proposed) + 1}" if several else ""
        buttons[:0] = [_button(f"Approve & apply{which}", ACTION_APPROVE, proposal_id, "primary"),
                       _button("Reject", ACTION_REJECT, proposal_id, "danger")]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return blocks


def _banner(view: ThreadView) -> str:
    banner = BANNERS[view.state]
    if view.status_line:
        banner = f"{banner} {escape_keeping_user_mentions(view.status_line)}".strip()
    return banner


def fallback_text(view: ThreadView) -> str:
    """The notification text: state, then what was denied to whom and why, escaped."""
    parts = [BANNERS[view.state]] if BANNERS[view.state] else []
    if view.status_line:
        parts.append(escape_keeping_user_mentions(view.status_line))
    for diagnosis in view.diagnoses[:3]:
        denial = diagnosis.denial
        key = denial.resource_arn or denial.key_id or "?"
        line = f"{denial.action or 'KMS request'} denied to {denial.principal_arn or '?'} on {key}"
        parts.append(escape_mrkdwn(f"{line}: {diagnosis.cause.summary}"))
    return clip(" ".join(parts) or "kms-why", MAX_TEXT)


def thread_message(view: ThreadView) -> dict[str, Any]:
    """`{"text": fallback, "blocks": [...]}` for chat.postMessage / chat.update."""
    blocks: list[dict[str, Any]] = []
    banner = _banner(view)
    if banner:
        blocks.append(_section(banner))
    left_out = 0
    for index in range(len(view.diagnoses)):
        rendered = ([{"type": "divider"}] if blocks else []) + diagnosis_blocks(view, index)
        if len(blocks) + len(rendered) > MAX_BLOCKS - 2:
            left_out = len(view.diagnoses) - index
            break
        blocks += rendered
    if left_out:
        blocks.append(_context(f"{left_out} more denial(s) in this paste did not fit; "
                               "paste them separately or use `kms-why explain`."))
    if view.state == "applied" and view.revert_proposal_id:
        blocks.append({"type": "actions",
                       "elements": [_button("Revert", ACTION_REVERT, view.revert_proposal_id, "danger")]})
    if not blocks:
        blocks.append(_section("_nothing to show_"))
    return {"text": fallback_text(view), "blocks": blocks}
