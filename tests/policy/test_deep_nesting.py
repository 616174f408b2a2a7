"""Policies nested deeper than Python's recursion allows are refused as `PolicyError`, not a crash.

kms-evaluation.md §2 (malformed policies are refused, naming the policy). JSON parsers accept more
depth than `repr` can walk, so the content cache must not be what fails. The nested lists are built
iteratively: `json.loads` of such depth would itself exhaust the recursion limit under pytest.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from bot.policy import evaluate
from bot.policy.document import PolicyError
from bot.policy.simulation import SimulationDocument

SESSION = "arn:aws:sts::111122223333:assumed-role/App/s1"
KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KMS_WHY = Path(sys.executable).with_name("kms-why")


def _nested(depth: int) -> Any:
    value: Any = "kms:Decrypt"
    for _ in range(depth):
        value = [value]
    return value


def _document(**policies: Any) -> dict[str, Any]:
    return {"request": {"principal": SESSION, "action": "kms:Decrypt", "resource": KEY}, **policies}


@pytest.mark.parametrize("depth", [990, 5_000])
def test_a_key_policy_action_nested_beyond_recursion_is_a_policy_error(depth: int) -> None:
    statement = {"Effect": "Allow", "Principal": "*", "Action": _nested(depth), "Resource": "*"}
    with pytest.raises(PolicyError, match="key_policy statement 0: Action"):
        evaluate(SimulationDocument.model_validate(_document(key_policy={"Statement": [statement]})))


def test_a_grant_nested_beyond_recursion_is_a_policy_error() -> None:
    grant = {"GranteePrincipal": SESSION, "Operations": _nested(5_000)}
    document = _document(key_policy={"Statement": []}, grants=[grant])
    with pytest.raises(PolicyError, match=r"grants\[0\]"):
        evaluate(SimulationDocument.model_validate(document))


def test_simulate_refuses_a_990_deep_action_with_exit_2_and_one_line() -> None:
    statement = {"Effect": "Allow", "Principal": "*", "Action": "ACTION", "Resource": "*"}
    # orjson.dumps stops at 255 levels: splice the nested text in.
    text = orjson.dumps(_document(key_policy={"Statement": [statement]})).replace(
        b'"ACTION"', b"[" * 990 + b'"kms:Decrypt"' + b"]" * 990
    )
    done = subprocess.run([str(KMS_WHY), "simulate", "-"], input=text, capture_output=True, timeout=60)
    assert done.returncode == 2, done.stderr[-500:]
    assert b"Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert b"key_policy" in done.stderr
