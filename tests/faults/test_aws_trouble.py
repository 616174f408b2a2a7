"""The worker's AWS watch (bot/aws_trouble.py) against real botocore clients and moto behind the
fault-injecting proxy: every failed attempt is counted, a read that stayed throttled after botocore's
retries makes the worker retry the whole analysis, and, when AWS never recovers, fail it saying why."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import redis
from botocore.config import Config
from botocore.exceptions import ClientError

from bot import metrics
from bot.aws_trouble import AwsTrouble, AwsUnavailable
from bot.demo.world import World
from bot.diagnosis.models import Diagnosis
from bot.jobs import AnalyseJob, SlackPlace
from bot.queue import JobQueue
from bot.settings import Settings
from bot.store import Store
from bot.worker import Worker
from bot.worker_config import WorkerConfig
from tests.faults.aws_proxy import FaultyAws
from tests.worker.fakes import FakeKeyPolicies, FakeReplies, diagnosis

PLACE = SlackPlace(channel_id="C1", thread_ts="1699.000001", message_ts="1699.000001", user_id="UREQ")


@pytest.fixture
def proxy(world: World) -> Iterator[FaultyAws]:
    running = FaultyAws(upstream=world.endpoint_url).start()
    yield running
    running.stop()


def _client(proxy: FaultyAws, service: str) -> Any:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    return session.client(  # type: ignore[call-overload]
        service, region_name="us-east-1", endpoint_url=proxy.url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 2}),
    )


def _errors(service: str, code: str) -> float:
    value = metrics.registry().get_sample_value(
        "kms_why_aws_errors_total", {"service": service, "code": code}
    )
    return value or 0.0


def test_each_failed_attempt_is_counted_and_only_a_call_that_stayed_throttled_is_trouble(
    proxy: FaultyAws,
) -> None:
    trouble = AwsTrouble()
    kms = _client(proxy, "kms")
    trouble.hook(None, "kms", kms)
    before = _errors("kms", "ThrottlingException")

    proxy.inject("kms", "ListKeys", fault="throttle", times=1)
    kms.list_keys()  # throttled once, retried by botocore, answered
    trouble.check()
    assert _errors("kms", "ThrottlingException") == before + 1

    proxy.inject("kms", "ListAliases", fault="throttle")
    with pytest.raises(ClientError):
        kms.list_aliases()
    assert _errors("kms", "ThrottlingException") == before + 3  # both attempts counted
    with pytest.raises(AwsUnavailable, match="kms ListAliases: ThrottlingException"):
        trouble.check()
    trouble.clear()
    trouble.check()


def test_cloudtrail_throttling_stays_best_effort(proxy: FaultyAws) -> None:
    trouble = AwsTrouble()
    trail = _client(proxy, "cloudtrail")
    trouble.hook(None, "cloudtrail", trail)
    proxy.inject("cloudtrail", "LookupEvents", fault="throttle")
    with pytest.raises(ClientError):
        trail.lookup_events()
    trouble.check()  # no exception: the analysis answers with CloudTrail's context unseen


class _Sessions:
    on_client: Any = None


class _AnalyseReadingKms:
    """Reads through the worker's sessions hook and swallows the error, as the collectors do."""

    def __init__(self, proxy: FaultyAws) -> None:
        self.client = _client(proxy, "kms")
        self.calls = 0

    def __call__(self, text: str, settings: Settings, *, request_id: str, sessions: Any = None
                 ) -> list[Diagnosis]:
        if self.calls == 0:
            sessions.on_client(None, "kms", self.client)
        self.calls += 1
        with contextlib.suppress(ClientError):
            self.client.get_key_policy(KeyId="k", PolicyName="default")
        return [diagnosis()]


def _run(proxy: FaultyAws, redis_client: redis.Redis[bytes], prefix: str, tmp_path: Path
         ) -> tuple[_AnalyseReadingKms, Store, FakeReplies]:
    queue, store = JobQueue(redis_client, prefix=prefix), Store(redis_client, prefix=prefix)
    replies = FakeReplies()
    analyse = _AnalyseReadingKms(proxy)
    worker = Worker(
        queue=queue, store=store, replies=replies, settings=Settings(KMS_WHY_APPROVERS="UAPP"),
        config=WorkerConfig(KMS_WHY_RETRY_BASE_SECONDS=0.01, KMS_WHY_JOB_ATTEMPTS=3,
                            KMS_WHY_HEARTBEAT_FILE=str(tmp_path / "beat")),
        analyse=analyse, key_policies=FakeKeyPolicies(), sessions=_Sessions(), consumer="w1",
    )
    queue.enqueue(AnalyseJob(job_id="J1", request_id="r1", text="kms:Decrypt denied", place=PLACE))
    assert worker.run_once()
    return analyse, store, replies


def test_an_analysis_whose_read_stayed_throttled_is_retried_then_answered(
    proxy: FaultyAws, redis_client: redis.Redis[bytes], prefix: str, tmp_path: Path,
) -> None:
    proxy.inject("kms", "GetKeyPolicy", fault="throttle", times=2)  # botocore's 2 attempts of the 1st run
    analyse, store, replies = _run(proxy, redis_client, prefix, tmp_path)
    assert analyse.calls == 2
    assert replies.last_view.state == "answered"
    assert store.dead_letters() == []


def test_an_analysis_aws_never_stops_throttling_is_dead_lettered_saying_why(
    proxy: FaultyAws, redis_client: redis.Redis[bytes], prefix: str, tmp_path: Path,
) -> None:
    proxy.inject("kms", "GetKeyPolicy", fault="unavailable")
    analyse, store, replies = _run(proxy, redis_client, prefix, tmp_path)
    assert analyse.calls == 3
    view = replies.last_view
    assert view.state == "failed" and "KMSInternalException" in (view.status_line or "")
    [dead] = store.dead_letters()
    assert "AwsUnavailable" in dead.error and "GetKeyPolicy" in dead.error
