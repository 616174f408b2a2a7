"""Applying an approved key policy with the writer role, refusing when the live policy has moved on.

Re-read the live policy, compare it (as parsed JSON, by the SHA-256 of its canonical text) with the
policy the proposal was computed from, `PutKeyPolicy` with the lockout safety check on, read back and
confirm. The writer role is assumed afresh for each apply, with the request id in its session name.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from bot.aws.sessions import AssumeRoleError, SessionFactory
from bot.aws.unseen import error_code, error_message
from bot.policy_text import policy_sha256

if TYPE_CHECKING:
    from mypy_boto3_kms.client import KMSClient


class KeyPolicyChanged(Exception):
    """The live key policy is not the one the proposal was computed from: nothing was put."""

    def __init__(self, key_arn: str, expected_sha256: str, live_sha256: str) -> None:
        super().__init__(f"the key policy of {key_arn} changed since the analysis "
                         f"(expected sha256 {expected_sha256[:12]}…, live {live_sha256[:12]}…)")
        self.key_arn = key_arn
        self.expected_sha256 = expected_sha256
        self.live_sha256 = live_sha256


class ReadBackMismatch(Exception):
    """PutKeyPolicy answered success but reading the policy back gave another document."""


class KeyPolicyWriteFailed(Exception):
    """The writer could not read or put the policy (role not assumable, denied, lockout check, …)."""

    def __init__(self, key_arn: str, step: str, code: str, message: str) -> None:
        super().__init__(f"{step} for {key_arn} failed: {code}: {message}")
        self.key_arn = key_arn
        self.step = step
        self.code = code


class AppliedKeyPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    key_arn: str
    aws_request_id: str
    sha256_before: str
    sha256_after: str
    policy_read_back: dict[str, Any]


def _where(key_arn: str) -> tuple[str, str]:
    parts = key_arn.split(":")
    if len(parts) != 6 or parts[2] != "kms" or not parts[5].startswith("key/"):
        raise ValueError(f"not a KMS key ARN: {key_arn!r}")
    return parts[3], parts[4]


def _kms(sessions: SessionFactory, key_arn: str, request_id: str) -> KMSClient:
    region, account = _where(key_arn)
    try:
        return sessions.writer(account, request_id).kms(region)
    except AssumeRoleError as error:
        step = f"AssumeRole {error.role_arn}"
        raise KeyPolicyWriteFailed(key_arn, step, error.code, error.message) from error


def _read(kms: KMSClient, key_arn: str, step: str) -> dict[str, Any]:
    try:
        text = kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]
    except (ClientError, BotoCoreError) as exc:
        raise KeyPolicyWriteFailed(key_arn, step, error_code(exc), error_message(exc)) from exc
    policy: dict[str, Any] = json.loads(text)
    return policy


def read_key_policy(sessions: SessionFactory, key_arn: str, *, request_id: str) -> dict[str, Any]:
    """The live key policy, read with the writer role."""
    return _read(_kms(sessions, key_arn, request_id), key_arn, "GetKeyPolicy")


def apply_key_policy(sessions: SessionFactory, key_arn: str, policy: dict[str, Any], *,
                     expected_sha256: str, request_id: str) -> AppliedKeyPolicy:
    """Put `policy` on the key if its live policy still hashes to `expected_sha256`.

    Raises `KeyPolicyChanged` (nothing put), `KeyPolicyWriteFailed`, or `ReadBackMismatch`.
    """
    kms = _kms(sessions, key_arn, request_id)
    live = _read(kms, key_arn, "GetKeyPolicy (before)")
    live_sha256 = policy_sha256(live)
    if live_sha256 != expected_sha256:
        raise KeyPolicyChanged(key_arn, expected_sha256, live_sha256)
    try:
        response = kms.put_key_policy(
            KeyId=key_arn, PolicyName="default", Policy=json.dumps(policy, indent=2),
            BypassPolicyLockoutSafetyCheck=False,
        )
    except (ClientError, BotoCoreError) as exc:
        raise KeyPolicyWriteFailed(key_arn, "PutKeyPolicy", error_code(exc), error_message(exc)) from exc
    read_back = _read(kms, key_arn, "GetKeyPolicy (after)")
    if policy_sha256(read_back) != policy_sha256(policy):
        raise ReadBackMismatch(f"PutKeyPolicy on {key_arn} succeeded but the policy read back differs")
    request = str(response.get("ResponseMetadata", {}).get("RequestId", ""))
    return AppliedKeyPolicy(key_arn=key_arn, aws_request_id=request, sha256_before=live_sha256,
                            sha256_after=policy_sha256(read_back), policy_read_back=read_back)
