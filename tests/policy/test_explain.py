"""`evaluate(doc, explain=False)` gives the same result as the default except for `misses`.

kms-evaluation.md §2 (result): misses explain the decision, they never change it; `kms-why simulate`
prints no misses and evaluates without them.
"""

from __future__ import annotations

from typing import Any

from bot.policy import evaluate
from bot.policy.evaluate import clear_caches
from bot.policy.simulation import SimulationDocument

ACCOUNT = "111122223333"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/App/s1"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _document(action: str, unknown: tuple[str, ...] = ()) -> dict[str, Any]:
    key_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "Other", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
             "Action": "kms:Decrypt", "Resource": "*"},
            {"Sid": "Via", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
             "Condition": {"StringNotEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
        ],
    }
    identity = {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": KEY}]}
    return {
        "request": {"principal": SESSION, "action": action, "resource": KEY, "unknown_keys": list(unknown)},
        "identity_policies": [identity],
        "key_policy": key_policy,
        "grants": [{"GranteePrincipal": "arn:aws:iam::111122223333:role/Other", "Operations": ["Decrypt"]}],
    }


def test_explain_false_drops_only_the_misses() -> None:
    for action in ("kms:Decrypt", "kms:Encrypt", "kms:DescribeKey"):
        for unknown in ((), ("kms:ViaService",)):
            raw = _document(action, unknown)
            full = evaluate(SimulationDocument.model_validate(raw))
            assert full.misses, "the scenario must have misses for the comparison to mean anything"
            brief = evaluate(SimulationDocument.model_validate(raw), explain=False)
            assert brief.misses == ()
            assert brief.model_dump(exclude={"misses"}) == full.model_dump(exclude={"misses"})
            # And the cached results do not leak across modes, in either order.
            clear_caches()
            assert evaluate(SimulationDocument.model_validate(raw), explain=False).misses == ()
            assert evaluate(SimulationDocument.model_validate(raw)).misses == full.misses
