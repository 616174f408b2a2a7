"""Faults on the AWS side, injected by a proxy in front of moto (tests/faults/aws_proxy.py) so the real
worker's botocore sees AWS's own error responses: throttling and 5xx on every call type the collectors
make (KMS, IAM, STS, Organizations, CloudTrail), a persistent throttle, an AssumeRole that is denied,
and a key policy the reader may not read."""

from __future__ import annotations

import pytest
import redis

from bot.store import Store
from tests.e2e.harness import Stack, free_port
from tests.fakes.slack_api import FakeSlackApi
from tests.faults.aws_proxy import FaultyAws
from tests.faults.helpers import metric, paste_threads, report, send_events, wait_all_final

pytestmark = pytest.mark.e2e

COLLECTED = {"kms", "iam", "sts", "organizations", "cloudtrail"}  # every service the collectors call


def _without_key(paste: str) -> str:
    """The paste with its key ARN cut out: the collectors then search CloudTrail for the key."""
    head, _, tail = paste.partition(" on resource: ")
    return head + (" " + tail.split(" ", 1)[1] if " " in tail else "")


def _answered_despite(
    fault: str, codes: tuple[str, ...], stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str],
    faulty_aws: FaultyAws, base: int,
) -> None:
    port = free_port()
    stack.start_both(KMS_WHY_WORKER_METRICS_PORT=str(port))
    # The first two calls of every operation of every service fail; botocore's retries must absorb them.
    faulty_aws.inject("*", "*", fault=fault, times=2)  # type: ignore[arg-type]
    faulty_aws.answer("cloudtrail", "LookupEvents", {"Events": []})  # moto has no LookupEvents
    named = [scenarios["missing-root-delegation"], scenarios["cross-account-key-policy"]]
    pastes = [*named, _without_key(named[0])]
    threads: list[str] = []
    for i, paste in enumerate(pastes):
        [thread] = paste_threads(slack, paste, 1, base=base + i)
        assert send_events(stack, paste, [thread], prefix=f"Ev{fault}{i}-") == {thread: 200}
        threads.append(thread)
    result = wait_all_final(slack, threads, timeout=90)
    report(f"aws {fault} x2 on every operation", result, injected=len(faulty_aws.injected()),
           services=",".join(sorted(faulty_aws.services_called())))
    assert (result.lost, result.duplicated) == (0, 0)
    for thread in threads[:2]:
        assert "Could not see" not in result.texts[thread], result.texts[thread]
        assert "key policy" in result.texts[thread].lower()
    # No key named and none found in CloudTrail: answered, saying what it could not see and why.
    assert "Could not see" in result.texts[threads[2]] and "CloudTrail" in result.texts[threads[2]]
    faulted = {seen.service for seen in faulty_aws.injected()}
    assert faulted >= COLLECTED and faulted == faulty_aws.services_called()
    assert sum(metric(port, "kms_why_aws_errors_total", code=code) for code in codes) >= len(faulted)
    assert len(slack.calls("chat.postMessage")) == len(threads)


def test_aws_throttling_on_every_call_type_is_retried_and_answered(
    stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str], faulty_aws: FaultyAws
) -> None:
    _answered_despite(
        "throttle", ("ThrottlingException", "Throttling"), stack, slack, scenarios, faulty_aws, 1700300000
    )


def test_aws_5xx_on_every_call_type_is_retried_and_answered(
    stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str], faulty_aws: FaultyAws
) -> None:
    _answered_despite(
        "unavailable",
        ("ServiceUnavailableException", "ServiceUnavailable", "KMSInternalException"),
        stack, slack, scenarios, faulty_aws, 1700300100,
    )


def test_persistent_aws_throttling_fails_the_analysis_and_says_why(
    stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str], faulty_aws: FaultyAws,
    e2e_redis: redis.Redis[bytes],
) -> None:
    # One attempt of the whole analysis: botocore's own six attempts with backoff already take ~30 s.
    # (The worker's retry of an analysis AWS kept failing is tested in test_aws_trouble.py.)
    stack.env["KMS_WHY_JOB_ATTEMPTS"] = "1"
    stack.start_both()
    faulty_aws.inject("kms", "GetKeyPolicy", fault="throttle")
    paste = scenarios["missing-root-delegation"]
    [thread] = paste_threads(slack, paste, 1, base=1700300200)
    assert send_events(stack, paste, [thread], prefix="EvThrottleForever-") == {thread: 200}
    result = wait_all_final(slack, [thread], timeout=120, final=("failed", "answered"))
    report("aws persistent throttle on GetKeyPolicy", result, state=result.states[thread],
           injected=len(faulty_aws.injected()), dead_letters=len(Store(e2e_redis).dead_letters()))
    assert result.messages == {thread: 1}
    assert result.states == {thread: "failed"}
    assert (
        "The analysis failed: AwsUnavailable: AWS kept failing after retries: kms GetKeyPolicy: "
        "ThrottlingException" in result.texts[thread]
    )
    [dead] = Store(e2e_redis).dead_letters()
    assert "Throttling" in dead.error


def test_a_denied_assume_role_is_answered_with_what_could_not_be_seen(
    stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str], faulty_aws: FaultyAws
) -> None:
    stack.start_both()
    paste = scenarios["cross-account-key-policy"]
    key_account = paste.split("arn:aws:kms:")[1].split(":")[1]
    faulty_aws.inject("sts", "AssumeRole", fault="denied", when=f"{key_account}%3Arole%2Fkms-why-reader")
    [thread] = paste_threads(slack, paste, 1, base=1700300300)
    assert send_events(stack, paste, [thread], prefix="EvDeniedAssume-") == {thread: 200}
    result = wait_all_final(slack, [thread], timeout=60)
    report("aws AssumeRole denied", result, state=result.states[thread])
    text = result.texts[thread]
    assert result.messages == {thread: 1}
    assert "Could not see" in text and "key_policy" in text
    assert "AssumeRole" in text or "assume" in text.lower()
    assert faulty_aws.injected("sts")


def _unreadable_key_policy_answer(
    stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str], faulty_aws: FaultyAws, base: int
) -> str:
    stack.start_both()
    faulty_aws.inject("kms", "GetKeyPolicy", fault="denied")
    paste = scenarios["missing-root-delegation"]
    [thread] = paste_threads(slack, paste, 1, base=base)
    assert send_events(stack, paste, [thread], prefix=f"EvNoKeyPolicy{base}-") == {thread: 200}
    result = wait_all_final(slack, [thread], timeout=60)
    report("aws GetKeyPolicy denied", result, state=result.states[thread])
    assert result.messages == {thread: 1}
    return result.texts[thread]


def test_a_key_policy_the_reader_cannot_read_is_unseen_and_says_why(
    stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str], faulty_aws: FaultyAws
) -> None:
    text = _unreadable_key_policy_answer(stack, slack, scenarios, faulty_aws, 1700300400)
    assert "*key policy* could not be read" in text
    assert "GetKeyPolicy" in text and "AccessDeniedException" in text
    assert "Add this statement to the key policy" in text
    assert "Approve" not in text  # nothing is proposed over a policy the bot never saw


def test_a_key_policy_the_reader_cannot_read_comes_with_the_statement_that_would_let_it(
    stack: Stack, slack: FakeSlackApi, scenarios: dict[str, str], faulty_aws: FaultyAws
) -> None:
    text = _unreadable_key_policy_answer(stack, slack, scenarios, faulty_aws, 1700300500)
    assert "AllowKmsWhyReaderToReadThisKey" in text
