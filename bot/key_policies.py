"""The worker's `KeyPolicies` over AWS: the collectors' writer (`bot.aws.writer`) behind the port.

The writer assumes the writer role in the key's account (afresh per call, so CloudTrail ties each
change to its request), uses the region of the key's ARN, re-reads and compares before
PutKeyPolicy (lockout safety check on), and reads back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.apply import PutResult, StalePolicy

if TYPE_CHECKING:
    from bot.aws.sessions import SessionFactory


class WriterKeyPolicies:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def read(self, key_arn: str, *, request_id: str) -> dict[str, Any]:
        from bot.aws.writer import read_key_policy

        return read_key_policy(self._sessions, key_arn, request_id=request_id)

    def put(
        self, key_arn: str, policy: dict[str, Any], *, expected_sha256: str, request_id: str
    ) -> PutResult:
        from bot.aws.writer import KeyPolicyChanged, apply_key_policy

        try:
            applied = apply_key_policy(
                self._sessions, key_arn, policy, expected_sha256=expected_sha256, request_id=request_id
            )
        except KeyPolicyChanged as changed:
            raise StalePolicy(str(changed)) from changed
        return PutResult(aws_request_id=applied.aws_request_id, policy_read_back=applied.policy_read_back)
