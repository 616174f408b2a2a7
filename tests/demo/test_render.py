"""The terminal rendering: what a person reads, with colour only on a terminal."""

from __future__ import annotations

from bot.demo.render import render
from bot.diagnosis.diagnose import diagnose
from bot.diagnosis.models import Diagnosis
from tests.diagnosis.builders import admins, denial, key, policy, principal, snapshot


def _diagnosis() -> Diagnosis:
    return diagnose(denial(), snapshot(principal(), key(policy(admins()))))


def test_plain_text_names_the_failing_lock_in_words_and_shows_the_patch() -> None:
    text = render(_diagnosis(), colour=False)
    assert "\033[" not in text
    assert "✘ key policy" in text and "✔ IAM policy" in text
    assert "key_policy_missing_principal_no_root_delegation" in text
    assert '+      "Sid": "KmsWhyAllowMyRole",' in text
    assert "(verified ✔)" in text and "blast radius:" in text
    assert "aws kms put-key-policy" in text
    assert "(7 AWS calls in 3 round trips)" in text


def test_colour_marks_added_lines_green_and_refusals_red() -> None:
    text = render(_diagnosis(), colour=True)
    assert '\033[32m+      "Sid": "KmsWhyAllowMyRole",\033[0m' in text
    assert "\033[31;1mrefuses\033[0m" in text


def test_cross_account_line_names_both_accounts() -> None:
    from tests.diagnosis.builders import DATA, key_arn, root

    d = diagnose(
        denial(resource=key_arn(DATA), kind="no_identity_allow"),
        snapshot(principal(policies=()), key(policy(root(DATA), root("111122223333", "App")), DATA)),
    )
    text = render(d)
    assert "Cross-account" in text and "111122223333" in text and DATA in text


def test_question_back_for_a_redacted_account() -> None:
    d = diagnose(
        denial(
            principal_arn="arn:aws:sts::****:assumed-role/MyRole/x",
            resource="arn:aws:kms:us-east-1:****:key/abc",
        ),
        snapshot(None, None),
    )
    text = render(d)
    assert "Question:" in text and "'****'" in text


def test_an_unreadable_key_policy_shows_the_statement_that_would_let_the_reader_see_it() -> None:
    import json

    from bot.snapshot import Unseen

    statement = {"Sid": "AllowKmsWhyReaderToReadThisKey", "Effect": "Allow",
                 "Principal": {"AWS": "arn:aws:iam::444455556666:role/kms-why-reader"},
                 "Action": ["kms:GetKeyPolicy"], "Resource": "*"}
    unseen = Unseen(what="key_policy", reason="GetKeyPolicy failed: AccessDeniedException.",
                    remedy="Add this statement to the key policy of the key.", remedy_statement=statement)
    text = render(diagnose(denial(), snapshot(principal(), key(None), unseen=(unseen,))))
    heading = "To let the reader role see the key policy: Add this statement to the key policy of the key.\n"
    assert heading in text
    after = text.split(heading, 1)[1]
    body = "\n".join(line for line in after.splitlines() if line.startswith("      "))
    assert json.loads(body) == statement
    assert text.index("Add this statement") < text.index("AllowKmsWhyReaderToReadThisKey")
