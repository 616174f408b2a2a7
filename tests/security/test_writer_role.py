"""The writer role is assumed only for the key the proposal names (issue 7, "Approval security"): the
worker's decision path (bot.apply.Decisions over bot.key_policies.WriterKeyPolicies) against moto, with a
session factory that records every role assumed and every KMS call made with it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from bot.apply import Decisions
from bot.approval import Proposal
from bot.aws.sessions import SessionFactory
from bot.demo.world import World, default_key_policy
from bot.jobs import DecisionJob
from bot.key_policies import WriterKeyPolicies
from bot.policy_text import policy_sha256
from bot.settings import Settings
from bot.store import Store
from tests.worker.fakes import FakeReplies

KEY_ACCOUNT, OTHER_ACCOUNT = "111122223333", "444455556666"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


class RecordingKms:
    def __init__(self, client: Any, calls: list[tuple[str, str | None]]) -> None:
        self._client, self._calls = client, calls

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**params: Any) -> Any:
            self._calls.append((name, params.get("KeyId")))
            return method(**params)

        return call


class RecordingSession:
    def __init__(self, inner: Any, regions: list[str], calls: list[tuple[str, str | None]]) -> None:
        self._inner, self._regions, self._calls = inner, regions, calls

    def kms(self, region: str) -> RecordingKms:
        self._regions.append(region)
        return RecordingKms(self._inner.kms(region), self._calls)


class RecordingSessions:
    """Wraps the real SessionFactory: which roles were assumed, in which account, what was called."""

    def __init__(self, inner: SessionFactory) -> None:
        self._inner = inner
        self.assumed: list[tuple[str, str]] = []
        self.regions: list[str] = []
        self.kms_calls: list[tuple[str, str | None]] = []

    def writer(self, account: str, request_id: str) -> RecordingSession:
        self.assumed.append(("writer", account))
        return RecordingSession(self._inner.writer(account, request_id), self.regions, self.kms_calls)

    def reader(self, account: str, request_id: str) -> Any:
        self.assumed.append(("reader", account))
        return self._inner.reader(account, request_id)


@pytest.fixture
def store(redis_client: redis.Redis[bytes]) -> Iterator[Store]:
    prefix = f"t-security-{uuid.uuid4().hex[:10]}"
    yield Store(redis_client, prefix=prefix)
    keys = list(redis_client.scan_iter(match=f"{prefix}:*", count=500))
    if keys:
        redis_client.delete(*keys)


def _proposal(key_arn: str, account: str, region: str, before: dict[str, Any]) -> Proposal:
    after = {**before, "Statement": [*before["Statement"], {
        "Sid": "AllowApp", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:Decrypt", "Resource": "*"}]}
    return Proposal(proposal_id=f"p-{uuid.uuid4().hex[:12]}", analysis_id=f"message:C1:{uuid.uuid4().hex}",
                    key_arn=key_arn, region=region, account=account, requester_id="UREQ", channel_id="C1",
                    thread_ts="1.2", created_at=NOW, expires_at=NOW + timedelta(hours=1), diff="+ AllowApp",
                    policy_after=after, policy_sha256_before=policy_sha256(before),
                    policy_sha256_after=policy_sha256(after))


def test_an_apply_assumes_the_writer_only_in_the_named_keys_account_and_touches_only_that_key(
    world: World, store: Store
) -> None:
    target_account, other_account = world.account(KEY_ACCOUNT), world.account(OTHER_ACCOUNT)
    target_account.create_service_roles()
    other_account.create_service_roles()
    target = target_account.create_key(region="eu-west-1")
    bystander = target_account.create_key(region="eu-west-1")
    elsewhere = other_account.create_key(region="ap-northeast-1")
    untouched = {key: account.key_policy(key) for key, account in
                 ((bystander, target_account), (elsewhere, other_account))}
    chosen = _proposal(target, KEY_ACCOUNT, "eu-west-1", default_key_policy(KEY_ACCOUNT))
    for other in (_proposal(bystander, KEY_ACCOUNT, "eu-west-1", untouched[bystander]),
                  _proposal(elsewhere, OTHER_ACCOUNT, "ap-northeast-1", untouched[elsewhere]), chosen):
        store.save_proposal(other)
    settings = Settings.model_validate({**world.environ(), "KMS_WHY_APPROVERS": "UAPP"})
    sessions = RecordingSessions(world.session_factory(settings))
    decisions = Decisions(store, FakeReplies(), WriterKeyPolicies(sessions),  # type: ignore[arg-type]
                          settings, clock=lambda: NOW)

    job = DecisionJob(job_id="apply:x", request_id="rid-1", proposal_id=chosen.proposal_id, action="apply",
                      user_id="UAPP", reason="ticket")
    outcome = decisions.handle(job)

    assert outcome == "applied"
    assert target_account.key_policy(target) == chosen.policy_after
    assert {key: (target_account if key == bystander else other_account).key_policy(key)
            for key in untouched} == untouched
    assert sessions.assumed and set(sessions.assumed) == {("writer", KEY_ACCOUNT)}
    assert set(sessions.regions) == {"eu-west-1"}
    assert {key for _, key in sessions.kms_calls} == {target}
    assert "put_key_policy" in [name for name, _ in sessions.kms_calls]


def test_a_refused_decision_assumes_no_role_at_all(world: World, store: Store) -> None:
    account = world.account(KEY_ACCOUNT)
    account.create_service_roles()
    key = account.create_key(region="eu-west-1")
    before = account.key_policy(key)
    chosen = _proposal(key, KEY_ACCOUNT, "eu-west-1", before)
    store.save_proposal(chosen)
    settings = Settings.model_validate({**world.environ(), "KMS_WHY_APPROVERS": "UAPP"})
    sessions = RecordingSessions(world.session_factory(settings))
    decisions = Decisions(store, FakeReplies(), WriterKeyPolicies(sessions),  # type: ignore[arg-type]
                          settings, clock=lambda: NOW)
    for user in ("UREQ", "UNOBODY"):
        job = DecisionJob(job_id=f"apply:{user}", request_id="rid", proposal_id=chosen.proposal_id,
                          action="apply", user_id=user)
        assert decisions.handle(job) == "refused"
    expired = Decisions(store, FakeReplies(), WriterKeyPolicies(sessions),  # type: ignore[arg-type]
                        settings, clock=lambda: NOW + timedelta(hours=2))
    late = DecisionJob(job_id="apply:late", request_id="rid", proposal_id=chosen.proposal_id, action="apply",
                       user_id="UAPP")
    assert expired.handle(late) == "expired"
    assert sessions.assumed == []
    assert account.key_policy(key) == before
