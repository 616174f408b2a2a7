"""The store on a real Redis: event dedupe, proposals, locks, intents, audit and dead letters."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis

from bot.approval import Proposal
from bot.jobs import SlackPlace
from bot.ports import ThreadView
from bot.queue import QueueUnavailable
from bot.store import AnalysisRecord, AuditRecord, DeadLetter, KeyBusy, Store

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _proposal(state: str = "pending") -> Proposal:
    return Proposal.model_validate(
        {
            "proposal_id": "p-1",
            "analysis_id": "Ev1",
            "key_arn": "arn:aws:kms:us-east-1:111122223333:key/k1",
            "region": "us-east-1",
            "account": "111122223333",
            "requester_id": "U1",
            "channel_id": "C1",
            "thread_ts": "1.1",
            "created_at": NOW,
            "expires_at": NOW + timedelta(hours=1),
            "diff": "+ x",
            "policy_after": {"Version": "2012-10-17", "Statement": []},
            "policy_sha256_before": "aa",
            "policy_sha256_after": "bb",
            "state": state,
        }
    )


def test_claim_event_is_true_only_the_first_time(redis_client: redis.Redis, prefix: str) -> None:
    store = Store(redis_client, prefix=prefix)
    assert store.claim_event("Ev1") is True
    assert store.claim_event("Ev1") is False
    assert store.claim_event("Ev2") is True
    assert 0 < redis_client.ttl(f"{prefix}:event:Ev1") <= 86_400


def test_proposal_round_trip_and_only_if_new(redis_client: redis.Redis, prefix: str) -> None:
    store = Store(redis_client, prefix=prefix, proposal_ttl_seconds=600)
    assert store.get_proposal("p-1") is None
    assert store.save_proposal(_proposal(), only_if_new=True) is True
    assert store.save_proposal(_proposal("applied"), only_if_new=True) is False
    assert store.get_proposal("p-1") == _proposal()
    store.save_proposal(_proposal("applied"))
    stored = store.get_proposal("p-1")
    assert stored is not None and stored.state == "applied"
    assert redis_client.ttl(f"{prefix}:proposal:p-1") > 600


def test_analysis_record_and_message_ts(redis_client: redis.Redis, prefix: str) -> None:
    store = Store(redis_client, prefix=prefix)
    assert store.get_message_ts("Ev1") is None
    store.set_message_ts("Ev1", "1700000000.000100")
    assert store.get_message_ts("Ev1") == "1700000000.000100"
    record = AnalysisRecord(
        place=SlackPlace(channel_id="C1", user_id="U1"), view=ThreadView(analysis_id="Ev1", state="answered")
    )
    store.save_analysis("Ev1", record)
    assert store.get_analysis("Ev1") == record


def test_key_lock_excludes_a_second_holder(redis_client: redis.Redis, prefix: str) -> None:
    store = Store(redis_client, prefix=prefix)
    arn = "arn:aws:kms:us-east-1:111122223333:key/k1"
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with store.key_lock(arn):
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    assert holding.wait(5)
    with pytest.raises(KeyBusy), store.key_lock(arn, wait_seconds=0.2):
        pass
    release.set()
    thread.join()
    with store.key_lock(arn, wait_seconds=1):
        pass


def test_intent_markers(redis_client: redis.Redis, prefix: str) -> None:
    store = Store(redis_client, prefix=prefix)
    assert store.get_intent("p-1", "apply") is None
    store.set_intent("p-1", "apply", "started")
    assert store.get_intent("p-1", "apply") == "started"
    assert store.get_intent("p-1", "revert") is None
    store.set_intent("p-1", "apply", "done")
    assert store.get_intent("p-1", "apply") == "done"


def test_audit_and_dead_letter_streams(redis_client: redis.Redis, prefix: str) -> None:
    store = Store(redis_client, prefix=prefix)
    audit = AuditRecord(
        action="apply",
        proposal_id="p-1",
        key_arn="arn:k",
        requester="U1",
        approver="U2",
        reason="ok",
        sha256_before="aa",
        sha256_after="bb",
        aws_request_id="req-1",
        slack_permalink="https://slack.com/archives/C1/p11",
        request_id="r1",
        at=NOW,
    )
    store.audit(audit)
    assert store.audit_records() == [audit]
    letter = DeadLetter(job_id="Ev1", job_json="{}", error="boom", attempts=4, at=NOW)
    store.dead_letter(letter)
    assert store.dead_letters() == [letter]


def test_heartbeat_key_expires(redis_client: redis.Redis, prefix: str) -> None:
    store = Store(redis_client, prefix=prefix)
    store.heartbeat("w1", ttl_seconds=1)
    assert float(redis_client.get(f"{prefix}:worker:w1") or 0) == pytest.approx(time.time(), abs=5)


def test_redis_down_raises_queue_unavailable() -> None:
    store = Store.from_url("redis://127.0.0.1:1/0")
    with pytest.raises(QueueUnavailable):
        store.claim_event("Ev1")
    with pytest.raises(QueueUnavailable):
        store.get_proposal("p-1")
