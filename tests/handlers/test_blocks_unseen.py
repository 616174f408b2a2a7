"""Issue 4 in Slack: "Add this statement" is followed by the statement, whole, escaped, in Slack limits."""

from __future__ import annotations

import json
from typing import Any

from bot.diagnosis.models import Lock, UnseenRemedy
from handlers.blocks import thread_message
from tests.fakes.slack_limits import block_problems
from tests.handlers.test_blocks import diagnosis, mrkdwn_texts, texts, view

READER = "arn:aws:iam::444455556666:role/kms-why-reader"
STATEMENT: dict[str, Any] = {
    "Sid": "AllowKmsWhyReaderToReadThisKey",
    "Effect": "Allow",
    "Principal": {"AWS": READER},
    "Action": ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:ListGrants"],
    "Resource": "*",
}


def _unreadable(*remedies: UnseenRemedy) -> dict[str, Any]:
    return thread_message(view("answered", diagnosis(
        locks=(Lock(layer="identity", allows=True), Lock(layer="key_policy", allows=None)),
        unseen=("key_policy",),
        unseen_details=("key_policy: GetKeyPolicy failed: AccessDeniedException. "
                        "Add this statement to the key policy of the key.",),
        unseen_remedies=remedies, fixes=())))


def _code_blocks(message: dict[str, Any]) -> list[str]:
    return [text.split("```\n", 1)[1].rsplit("\n```", 1)[0]
            for text in mrkdwn_texts(message["blocks"]) if "```" in text]


def test_the_statement_follows_the_sentence_as_a_json_code_block() -> None:
    message = _unreadable(UnseenRemedy(what=("key_policy",), statement=STATEMENT,
                                       remedy="Add this statement to the key policy of the key."))
    shown = texts(message)
    assert shown.index("Add this statement") < shown.index("AllowKmsWhyReaderToReadThisKey")
    assert "see the key policy:* Add this statement to the key policy of the key." in shown
    assert [json.loads(block) for block in _code_blocks(message)] == [STATEMENT]
    assert block_problems(message["blocks"], limit=50) == []


def test_a_statement_with_user_text_cannot_ping_or_close_its_code_block() -> None:
    evil = {**STATEMENT, "Sid": "x```<!channel>", "Principal": {"AWS": "<@U1|boss>"}}
    message = _unreadable(UnseenRemedy(what=("key_policy",), statement=evil))
    rendered = json.dumps(mrkdwn_texts(message["blocks"]))
    assert "<!channel>" not in rendered and "<@U1" not in rendered
    assert "&lt;!channel&gt;" in rendered
    [block] = [t for t in mrkdwn_texts(message["blocks"]) if "&lt;!channel&gt;" in t]
    assert block.count("```") == 2  # the Sid's backticks did not close the block early


def test_a_statement_too_long_for_one_block_is_never_cut_midway() -> None:
    huge = {**STATEMENT, "Action": [f"kms:Action{n:04d}" for n in range(400)]}
    message = _unreadable(UnseenRemedy(what=("key_policy",), statement=huge))
    assert block_problems(message["blocks"], limit=50) == []
    assert "kms:Action0000" not in texts(message)
    assert "run `kms-why explain`" in texts(message)


def test_a_long_statement_that_fits_compactly_is_shown_compactly_and_whole() -> None:
    long = {**STATEMENT, "Action": [f"kms:Action{n:03d}" for n in range(150)]}
    assert len(json.dumps(long, indent=2)) > 3000 > len(json.dumps(long)) + 200
    message = _unreadable(UnseenRemedy(what=("key_policy",), statement=long))
    assert [json.loads(block) for block in _code_blocks(message)] == [long]


def test_more_statements_than_shown_are_counted() -> None:
    remedies = tuple(UnseenRemedy(what=(layer,), statement={**STATEMENT, "Sid": layer})
                     for layer in ("key_policy", "identity", "scp"))
    message = _unreadable(*remedies)
    assert len(_code_blocks(message)) == 2
    assert "1 more statement(s)" in texts(message)
    assert block_problems(message["blocks"], limit=50) == []
