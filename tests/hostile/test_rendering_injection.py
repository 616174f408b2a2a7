"""Mentions, broadcasts, links and formatting smuggled into what an answer shows (a paste's ARNs and
action, a policy's Sid, a summary, a diff, an approver's reason) never ping anyone or link anywhere in the
rendered Block Kit, its fallback text or the approval modal (issue 5, "Answering"; issue 7)."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.apply import mrkdwn_safe
from bot.diagnosis.models import Cause, Diagnosis, Fix, Lock
from bot.parse.models import Denial
from bot.ports import ThreadView
from handlers.blocks import thread_message
from handlers.modals import approval_modal
from tests.handlers.conftest import proposal

FRAGMENTS = ["<!channel>", "<!here>", "<!everyone>", "@channel", "@here", "@everyone", "<@U0ADMIN1>",
             "<@W0ADMIN1|boss>", "<#C0GENERAL>", "<!subteam^S0OPS|@ops>", "<https://evil.example|click me>",
             "<mailto:a@b.c|mail>", "*bold*", "_it_", "~s~", "`code`", "```", "&lt;!channel&gt;", "&amp;",
             "<", ">", "&", "\n", "arn:aws:kms:us-east-1:111122223333:key/x", "@CHANNEL", "<!date^1|x>",
             "\u2060", "＜!channel＞"]
hostile = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), min_size=1,
                   max_size=6).map("".join)
BROADCAST = re.compile(r"(?i)(?<![\w\u2060])@(channel|here|everyone)\b")


def _mrkdwn(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [str(node["text"])] if node.get("type") == "mrkdwn" else []
        return found + [t for value in node.values() for t in _mrkdwn(value)]
    if isinstance(node, list):
        return [t for item in node for t in _mrkdwn(item)]
    return []


def _no_ping_no_link(text: str, allowed: frozenset[str] = frozenset()) -> None:
    for token in re.findall(r"<[^>]*>?", text):
        assert token in allowed, f"{token!r} would mention or link in {text[:300]!r}"
    # Searched as rendered: removing the neutralised "@\u2060" first would turn "@@\u2060channel" into a
    # false "@channel".
    assert not BROADCAST.search(text), text[:300]


def _diagnosis(s: list[str]) -> Diagnosis:
    return Diagnosis(
        denial=Denial(action=s[0], principal_arn=s[1], resource_arn=s[2], key_id=s[3]),
        verdict="implicit_deny",
        cause=Cause(catalogue=2, code="x", summary=s[4]),
        locks=(Lock(layer="identity", allows=True, policy=s[5], statement=s[6], explain=s[7]),
               Lock(layer="key_policy", allows=False, policy=s[2], statement=s[6])),
        unseen=(s[8],), unseen_details=(s[9],), inferred=(s[10],), notes=(s[11],), question=s[12],
        cross_account=True, principal_account=s[13], key_account=s[14], key_manager="CUSTOMER",
        fixes=(Fix(kind="key_policy_patch", summary=s[15], diff=s[16] * 200, verified=True, key_arn=s[2],
                   policy_after={"Sid": s[6]}, policy_sha256_before="a" * 64, commands=(s[17],),
                   blast_radius=s[18]),),
    )


@settings(max_examples=80, deadline=None)
@given(strings=st.lists(hostile, min_size=19, max_size=19), reason=hostile)
def test_a_thread_message_built_from_hostile_text_cannot_ping_or_link(strings: list[str], reason: str
                                                                     ) -> None:
    status = f"Applied by <@UAPPROVER1>: {mrkdwn_safe(reason)}"  # as bot.apply writes it
    for state in ("answered", "applied"):
        view = ThreadView(analysis_id="message:C1:1.2", state=state, diagnoses=(_diagnosis(strings),),
                          proposal_ids=("p-1",), status_line=status, revert_proposal_id="p-1")
        message = thread_message(view)
        for text in _mrkdwn(message["blocks"]):
            _no_ping_no_link(text, allowed=frozenset({"<@UAPPROVER1>"}))
        _no_ping_no_link(message["text"], allowed=frozenset({"<@UAPPROVER1>"}))


@settings(max_examples=60, deadline=None)
@given(key=hostile, diff=hostile, requester=hostile, channel=hostile)
def test_the_approval_modal_built_from_hostile_fields_cannot_ping_or_link(
    key: str, diff: str, requester: str, channel: str
) -> None:
    modal = approval_modal(proposal(key_arn=key, diff=diff, requester_id=requester, channel_id=channel),
                           "apply")
    for text in _mrkdwn(modal["blocks"]):
        _no_ping_no_link(text)


def test_a_paste_of_broadcasts_is_read_as_text_and_rendered_inert() -> None:
    from handlers.text import message_text

    pasted = message_text({"text": "<!channel> <!here> User: arn:aws:iam::1:role/<@U1> is not authorized "
                                   "to perform: kms:Decrypt on resource: <https://x.example|arn:aws:kms:x>"})
    assert "<" not in pasted and "@channel" in pasted  # read as the text a person sees
    view = ThreadView(analysis_id="a", state="answered",
                      diagnoses=(_diagnosis([pasted] * 19),), proposal_ids=(None,))
    for text in [*_mrkdwn(thread_message(view)["blocks"]), thread_message(view)["text"]]:
        _no_ping_no_link(text)
