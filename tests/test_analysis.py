"""The pipeline without Slack: parse → collect per denial → diagnose, and its degraded paths."""

from __future__ import annotations

import pytest

from bot.analysis import analyse
from bot.settings import Settings

REDACTED = (
    "An error occurred (AccessDeniedException) when calling the Decrypt operation: User: "
    "arn:aws:sts::xxxxxxxxxxxx:assumed-role/MyRole/alice is not authorized to perform: kms:Decrypt on "
    "resource: arn:aws:kms:ap-northeast-1:xxxxxxxxxxxx:key/abc because no resource-based policy allows "
    "the kms:Decrypt action"
)


def test_irrelevant_text_gives_no_diagnosis() -> None:
    assert analyse("shall we ship on friday?", Settings.model_validate({}), request_id="t-1") == []


def test_redacted_account_is_a_question_without_reading_aws() -> None:
    [d] = analyse(REDACTED, Settings.model_validate({}), request_id="t-2")
    assert d.cause.code == "redacted_account" and d.question and "xxxxxxxxxxxx" in d.question
    assert d.aws_calls == 0


def test_a_failed_collection_becomes_unseen_layers_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.aws.collect

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("endpoint unreachable")

    monkeypatch.setattr(bot.aws.collect, "collect", broken)
    paste = REDACTED.replace("xxxxxxxxxxxx", "111122223333")
    [d] = analyse(paste, Settings.model_validate({}), request_id="t-3", sessions=object())  # type: ignore[arg-type]
    assert {"identity", "key_policy"} <= set(d.unseen)
    assert {lock.layer: lock.allows for lock in d.locks}["key_policy"] is None
    assert any("endpoint unreachable" in detail for detail in d.unseen_details)


@pytest.mark.parametrize("count", [2])
def test_several_denials_in_one_paste_are_each_answered(count: int) -> None:
    text = "\n\n".join([REDACTED, REDACTED.replace("MyRole", "OtherRole")])
    diagnoses = analyse(text, Settings.model_validate({}), request_id="t-4")
    assert len(diagnoses) == count
    assert {d.denial.principal_arn.split("/")[1] for d in diagnoses if d.denial.principal_arn} == {
        "MyRole",
        "OtherRole",
    }
