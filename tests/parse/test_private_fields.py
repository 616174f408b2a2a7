"""The fields beyond `kms-why parse` that the diagnosis reads (kms-evaluation.md §3): error_code as the KMS
code it stands for (lookalikes short-circuit on it), policy_arn (the suffix names the policy), message."""

from __future__ import annotations

import pytest

from bot.parse import parse

KEY = "arn:aws:kms:eu-west-1:111122223333:key/k"
VAGUE = "The ciphertext refers to a customer master key that does not exist, does not exist in this region"
CASES = [
    (f"An error occurred (KMS.DisabledException) when calling the SendMessage operation: {KEY} is disabled.",
     "DisabledException"),
    (f"An error occurred (KMSInvalidStateException) when calling the Decrypt operation: {KEY} is pending "
     "deletion.", "KMSInvalidStateException"),
    ("An error occurred (KMSAccessDenied) when calling the Publish operation: null", "AccessDeniedException"),
    (f"NotFoundException: Key '{KEY}' does not exist", "NotFoundException"),
    (f"An error occurred (AccessDenied) when calling the GetObject operation: {VAGUE}", "AccessDenied"),
]  # fmt: skip


@pytest.mark.parametrize(("paste", "code"), CASES)
def test_error_code_is_the_kms_code_it_stands_for(paste: str, code: str) -> None:
    (denial,) = parse(paste).denials
    assert denial.error_code == code


def test_policy_arn_and_message_are_kept_for_the_diagnosis() -> None:
    policy = "arn:aws:iam::111122223333:policy/DenyOutsideVpc"
    paste = (
        "User: arn:aws:iam::111122223333:user/u is not authorized to perform: kms:Decrypt on resource: "
        f"{KEY} with an explicit deny in an identity-based policy: {policy}"
    )
    result = parse(paste)
    (denial,) = result.denials
    assert denial.policy_arn == policy
    assert denial.message == paste
    assert result.public_json()["denials"] == [result.denials[0].model_dump(include=_PUBLIC)]


_PUBLIC = {"action", "principal_arn", "resource_arn", "key_id", "region", "account", "denial_kind",
           "service_context"}  # fmt: skip
