"""The identity fast path of the compiled-policy cache (`bot.policy.policies.compile_policy`).

kms-evaluation.md §2 (malformed policies are refused): a policy that shares its Statement list with one
compiled before is still checked for unknown top-level fields and compiled under its own Version.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy import evaluate
from bot.policy.document import PolicyError
from bot.policy.simulation import SimulationDocument

ACCOUNT = "111122223333"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
STATEMENTS: list[dict[str, Any]] = [
    {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt",
     "Resource": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/${{aws:username}}"},
]


def _evaluate(key_policy: dict[str, Any]) -> str:
    raw = {"request": {"principal": USER, "action": "kms:Decrypt", "resource": KEY}, "key_policy": key_policy}
    return evaluate(SimulationDocument.model_validate(raw)).decision


def test_a_shared_statement_list_with_an_unknown_top_level_field_is_still_refused() -> None:
    _evaluate({"Version": "2012-10-17", "Statement": STATEMENTS})
    with pytest.raises(PolicyError, match="unknown field 'Bogus'"):
        _evaluate({"Version": "2012-10-17", "Statement": STATEMENTS, "Bogus": 1})


def test_a_shared_statement_list_is_compiled_under_each_version() -> None:
    # Under 2008-10-17 `${aws:username}` is literal text, so the key ARN cannot match it either way;
    # under 2012-10-17 it becomes "alice", which does not match the key id: both deny, but only the
    # variable-aware compilation reports the resolved resource in its miss.
    shown = []
    for version in ("2012-10-17", "2008-10-17"):
        raw = {"request": {"principal": USER, "action": "kms:Decrypt", "resource": KEY},
               "key_policy": {"Version": version, "Statement": STATEMENTS}}
        result = evaluate(SimulationDocument.model_validate(raw))
        shown.append(result.misses[0].expected)
    assert shown[0] == (f"arn:aws:kms:us-east-1:{ACCOUNT}:key/alice",)
    assert shown[1] == (f"arn:aws:kms:us-east-1:{ACCOUNT}:key/${{aws:username}}",)
