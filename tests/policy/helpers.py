"""Builders for simulation documents used across the engine tests."""

from __future__ import annotations

from typing import Any

from bot.policy import evaluate
from bot.policy.simulation import SimulationDocument, SimulationResult

A = "111122223333"
B = "444455556666"
KEY = f"arn:aws:kms:us-east-1:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_B = f"arn:aws:kms:us-east-1:{B}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = f"arn:aws:iam::{A}:role/App"
SESSION = f"arn:aws:sts::{A}:assumed-role/App/i-0abc"
USER = f"arn:aws:iam::{A}:user/alice"
ROOT = f"arn:aws:iam::{A}:root"


def policy(*statements: dict[str, Any], version: str = "2012-10-17") -> dict[str, Any]:
    return {"Version": version, "Statement": list(statements)}


def allow(action: Any = "kms:*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = "kms:*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def root_delegation(account: str = A) -> dict[str, Any]:
    return policy(allow(Principal={"AWS": f"arn:aws:iam::{account}:root"}, Sid="EnableIAM"))


def doc(
    principal: str = SESSION,
    action: str = "kms:Decrypt",
    resource: str = KEY,
    context: dict[str, Any] | None = None,
    unknown_keys: tuple[str, ...] = (),
    **sets: Any,
) -> SimulationDocument:
    request = {
        "principal": principal,
        "action": action,
        "resource": resource,
        "context": context or {},
        "unknown_keys": unknown_keys,
    }
    return SimulationDocument.model_validate({"request": request, **sets})


def run(principal: str = SESSION, **kwargs: Any) -> SimulationResult:
    return evaluate(doc(principal, **kwargs))


def decision(principal: str = SESSION, **kwargs: Any) -> str:
    return run(principal, **kwargs).decision


def checks(result: SimulationResult) -> list[tuple[str, str]]:
    return [(check.policy_type, check.kind) for check in result.failing_checks]
