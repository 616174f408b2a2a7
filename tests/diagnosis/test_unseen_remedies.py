"""Issue 4: what the reader role could not see comes with the statement that would let it see it."""

from __future__ import annotations

from bot.diagnosis.diagnose import diagnose
from bot.snapshot import Unseen
from tests.diagnosis.builders import denial, key, principal, snapshot

READER = "arn:aws:iam::444455556666:role/kms-why-reader"
KEY_STATEMENT = {
    "Sid": "AllowKmsWhyReaderToReadThisKey",
    "Effect": "Allow",
    "Principal": {"AWS": READER},
    "Action": ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:ListGrants"],
    "Resource": "*",
}
TRUST = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:role/kms-why"},
         "Action": "sts:AssumeRole"}


def _denied_key_policy() -> Unseen:
    return Unseen(
        what="key_policy",
        reason=f"GetKeyPolicy on the key as {READER} failed: AccessDeniedException: not authorized.",
        remedy="Add this statement to the key policy of the key.",
        remedy_statement=KEY_STATEMENT,
    )


def test_the_statement_for_an_unreadable_key_policy_reaches_the_diagnosis() -> None:
    d = diagnose(denial(), snapshot(principal(), key(None), unseen=(_denied_key_policy(),)))
    assert "key_policy" in d.unseen
    assert any("Add this statement to the key policy" in detail for detail in d.unseen_details)
    [remedy] = d.unseen_remedies
    assert remedy.what == ("key_policy",) and remedy.statement == KEY_STATEMENT
    assert remedy.remedy == "Add this statement to the key policy of the key."
    assert d.public_json()["unseen_remedies"][0]["statement"]["Sid"] == "AllowKmsWhyReaderToReadThisKey"


def test_one_statement_that_reveals_several_layers_is_offered_once_naming_them_all() -> None:
    # A reader role the bot cannot assume hides both the identity and the key side behind one trust statement.
    unseen = tuple(
        Unseen(what=layer, reason="AssumeRole was denied", remedy="add this statement to its trust policy",
               remedy_statement=TRUST)
        for layer in ("identity", "key_policy")
    )
    d = diagnose(denial(), snapshot(None, None, unseen=unseen))
    [remedy] = d.unseen_remedies
    assert remedy.what == ("identity", "key_policy") and remedy.statement == TRUST


def test_an_unseen_item_without_a_statement_offers_none() -> None:
    unseen = Unseen(what="key_policy", reason="GetKeyPolicy was throttled", remedy="paste again later")
    d = diagnose(denial(), snapshot(principal(), key(None), unseen=(unseen,)))
    assert "key_policy" in d.unseen and d.unseen_remedies == ()
