"""Fakes for the worker's ports: Slack replies, key policies and the analysis."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from bot.apply import PutResult
from bot.diagnosis.models import Cause, Diagnosis, Fix, Lock
from bot.jobs import SlackPlace
from bot.parse.models import Denial
from bot.policy_text import policy_sha256
from bot.ports import ThreadView
from bot.settings import Settings

KEY = "arn:aws:kms:ap-northeast-1:111122223333:key/abc-123"
BEFORE: dict[str, Any] = {"Version": "2012-10-17", "Statement": [{"Sid": "Root", "Effect": "Allow"}]}
AFTER: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Root", "Effect": "Allow"}, {"Sid": "Add"}],
}


class SlackRateLimited(Exception):
    """Looks like slack_sdk's SlackApiError on a 429: a response with a status code and headers."""

    def __init__(self) -> None:
        super().__init__("ratelimited")
        self.response = type("R", (), {"status_code": 429, "headers": {"Retry-After": "0"}})()


def throttling() -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetKeyPolicy")


def access_denied() -> ClientError:
    return ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole")


@dataclass
class FakeReplies:
    shows: list[tuple[SlackPlace, ThreadView, str | None]] = field(default_factory=list)
    private: list[tuple[str, str]] = field(default_factory=list)
    fail_next: int = 0
    posted: int = 0

    def show(self, place: SlackPlace, view: ThreadView, ts: str | None) -> str:
        if self.fail_next:
            self.fail_next -= 1
            raise SlackRateLimited()
        self.shows.append((place, view, ts))
        if ts is None:
            self.posted += 1
            return f"1700000000.{self.posted:06d}"
        return ts

    def tell_privately(self, place: SlackPlace, user_id: str, text: str) -> None:
        self.private.append((user_id, text))

    @property
    def last_view(self) -> ThreadView:
        return self.shows[-1][1]


@dataclass
class FakeKeyPolicies:
    policies: dict[str, dict[str, Any]] = field(default_factory=lambda: {KEY: BEFORE})
    puts: list[dict[str, Any]] = field(default_factory=list)
    crash_after_put: bool = False

    def read(self, key_arn: str, *, request_id: str) -> dict[str, Any]:
        return self.policies[key_arn]

    def put(
        self, key_arn: str, policy: dict[str, Any], *, expected_sha256: str, request_id: str
    ) -> PutResult:
        assert policy_sha256(self.policies[key_arn]) == expected_sha256
        self.policies[key_arn] = policy
        self.puts.append(policy)
        if self.crash_after_put:
            self.crash_after_put = False
            raise ConnectionError("worker lost its connection right after PutKeyPolicy")
        return PutResult(aws_request_id=f"req-{len(self.puts)}", policy_read_back=policy)


def diagnosis(*, patch: bool = True) -> Diagnosis:
    fixes: tuple[Fix, ...] = ()
    if patch:
        fixes = (
            Fix(
                kind="key_policy_patch",
                summary="Add MyRole to the key policy",
                diff="+ Add",
                policy_sha256_before=policy_sha256(BEFORE),
                verified=True,
                key_arn=KEY,
                policy_after=AFTER,
            ),
        )
    return Diagnosis(
        denial=Denial(action="kms:Decrypt", resource_arn=KEY),
        verdict="implicit_deny",
        cause=Cause(catalogue=2, code="key_policy_missing_principal_no_root_delegation", summary="s"),
        locks=(Lock(layer="identity", allows=True), Lock(layer="key_policy", allows=False)),
        fixes=fixes,
        key_manager="CUSTOMER",
        aws_calls=9,
    )


@dataclass
class FakeAnalyse:
    result: list[Diagnosis] = field(default_factory=lambda: [diagnosis()])
    errors: list[Exception] = field(default_factory=list)
    calls: int = 0

    def __call__(
        self, text: str, settings: Settings, *, request_id: str, sessions: Any = None
    ) -> list[Diagnosis]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result
