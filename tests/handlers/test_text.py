"""Slack text in (undo the encoding) and out (nothing user-controlled can ping, link or format)."""

from __future__ import annotations

import re

import pytest

from handlers.text import (
    clip,
    code,
    code_block,
    escape_keeping_user_mentions,
    escape_mrkdwn,
    message_text,
    plain,
    rich_text_of,
    split_lines,
    unescape_slack,
)


@pytest.mark.parametrize(
    ("encoded", "plain_text"),
    [
        ("a &amp; b &lt;c&gt;", "a & b <c>"),
        ("&amp;lt; stays literal", "&lt; stays literal"),
        ("see <https://docs.aws.amazon.com/kms|the docs>", "see the docs"),
        ("see <https://docs.aws.amazon.com/kms>", "see https://docs.aws.amazon.com/kms"),
        ("hi <@U123ABC> and <@U9|bob>", "hi @U123ABC and @bob"),
        ("in <#C123|ops>", "in #ops"),
        ("<!here> <!subteam^S1|@oncall>", "@here @oncall"),
        ("mail <mailto:a@b.co|a@b.co>", "mail a@b.co"),
        ("```arn:aws:kms:us-east-1:111122223333:key/k```", "\narn:aws:kms:us-east-1:111122223333:key/k\n"),
    ],
)
def test_unescape_slack(encoded: str, plain_text: str) -> None:
    assert unescape_slack(encoded) == plain_text


def test_rich_text_preformatted_quote_list_and_sections_are_read_raw() -> None:
    blocks = [
        {"type": "rich_text", "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": "look: "},
                                                       {"type": "link", "url": "https://x.io"},
                                                       {"type": "user", "user_id": "U1"}]},
            {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "User: a & <b>"}]},
            {"type": "rich_text_quote", "elements": [{"type": "text", "text": "quoted"}]},
            {"type": "rich_text_list", "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": "one"}]},
                {"type": "rich_text_section", "elements": [{"type": "text", "text": "two"}]}]},
        ]},
        {"type": "section", "text": {"type": "mrkdwn", "text": "not rich text"}},
    ]
    assert rich_text_of(blocks) == "look: https://x.io@U1\nUser: a & <b>\nquoted\none\ntwo"
    assert rich_text_of([{"type": "divider"}]) is None


def test_message_text_prefers_rich_text_and_adds_attachments() -> None:
    message = {"text": "fallback &amp;", "blocks": [{"type": "rich_text", "elements": [
        {"type": "rich_text_section", "elements": [{"type": "text", "text": "raw & text"}]}]}],
        "attachments": [{"title": "Alarm", "text": "kms:Decrypt &lt;denied&gt;", "fields": [{"value": "v"}]}]}
    assert message_text(message) == "raw & text\nAlarm\nkms:Decrypt <denied>\nv"
    assert message_text({"text": "only &amp; text"}) == "only & text"


INJECTIONS = [
    "<!channel> deploy now",
    "<!here|here>",
    "<!everyone>",
    "@channel look",
    "@here @everyone",
    "<https://evil.example|click me>",
    "<@U0BOSS> approve this",
    "*bold* _italic_ ~strike~ `code`",
    "```fence``` breakout",
    "&lt;!channel&gt; pre-escaped",
]


@pytest.mark.parametrize("attack", INJECTIONS)
def test_escaped_text_can_neither_ping_link_nor_format(attack: str) -> None:
    for rendered in (escape_mrkdwn(attack), code(attack), code_block(attack)):
        assert "<" not in rendered and ">" not in rendered
        assert not re.search(r"@(channel|here|everyone)\b", rendered)
    free = escape_mrkdwn(attack)
    assert not re.search(r"(^|\s)[*_~`]\S", free)
    assert code(attack).count("`") == 2
    assert code_block(attack).count("```") == 2


def test_escape_keeps_only_real_user_mentions() -> None:
    text = escape_keeping_user_mentions("Applied by <@U0APPROVER>: <!channel> <https://x|y> <@U1|fake>")
    assert text.startswith("Applied by <@U0APPROVER>:")
    assert "<!channel>" not in text and "<https" not in text and "<@U1|" not in text


def test_identifiers_stay_copyable_in_code() -> None:
    arn = "arn:aws:iam::123456789012:role/my_app_role"
    assert code(arn) == f"`{arn}`"
    assert code_block('{"Sid": "A_B"}') == '```\n{"Sid": "A_B"}\n```'
    assert escape_mrkdwn("my_app_role") == "my_app_role"


def test_clip_never_splits_an_entity_and_closes_a_code_block() -> None:
    text = escape_mrkdwn("a" * 10 + "&" * 10)
    cut = clip(text, 14)
    assert len(cut) <= 14 and not re.search(r"&[a-z]*…", cut)
    fenced = clip(code_block("x" * 5000), 3000)
    assert len(fenced) <= 3000 and fenced.endswith("```") and fenced.count("```") == 2
    assert clip("short", 10) == "short"


def test_plain_and_split_lines_respect_limits() -> None:
    assert len(plain("word " * 100, 75)) == 75
    chunks = split_lines("\n".join(["<" * 50] * 100) + "\n" + "&" * 5000, 2800)
    assert all(len(escape_mrkdwn(c).replace("ˋ", "`")) <= 2800 for c in chunks)
    assert "".join(chunks).count("<") == 5000 and "".join(chunks).count("&") == 5000
