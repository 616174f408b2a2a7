"""The worker's `KeyPolicies` over AWS: read and put a key policy with the writer role.

The writer role is assumed in the key's account (a fresh session per call, so CloudTrail ties each
change to its request), and clients use the region of the key's ARN.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bot.apply import PutResult, StalePolicy
from bot.approval import live_policy_matches

if TYPE_CHECKING:
    from mypy_boto3_kms.client import KMSClient

    from bot.aws.sessions import SessionFactory


def _where(key_arn: str) -> tuple[str, str]:
    parts = key_arn.split(":")
    if len(parts) < 6 or parts[2] != "kms":
        raise ValueError(f"not a KMS key ARN: {key_arn!r}")
    return parts[3], parts[4]


class WriterKeyPolicies:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def _kms(self, key_arn: str, request_id: str) -> KMSClient:
        region, account = _where(key_arn)
        return self._sessions.writer(account, request_id).kms(region)

    @staticmethod
    def _get(kms: KMSClient, key_arn: str) -> dict[str, Any]:
        policy: dict[str, Any] = json.loads(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
        return policy

    def read(self, key_arn: str, *, request_id: str) -> dict[str, Any]:
        return self._get(self._kms(key_arn, request_id), key_arn)

    def put(
        self, key_arn: str, policy: dict[str, Any], *, expected_sha256: str, request_id: str
    ) -> PutResult:
        """Re-read and compare, PutKeyPolicy with the lockout safety check on, then read back."""
        kms = self._kms(key_arn, request_id)
        if not live_policy_matches(self._get(kms, key_arn), expected_sha256):
            raise StalePolicy(key_arn)
        response = kms.put_key_policy(
            KeyId=key_arn,
            PolicyName="default",
            Policy=json.dumps(policy),
            BypassPolicyLockoutSafetyCheck=False,
        )
        request = str(response.get("ResponseMetadata", {}).get("RequestId", ""))
        return PutResult(aws_request_id=request, policy_read_back=self._get(kms, key_arn))
