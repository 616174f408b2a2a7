"""Slack tokens, the signing secret and AWS credentials never appear in logs, answers or errors (issue 7,
"Secrets"): a whole end-to-end run (paste answered, a refused click, a forged request, a paste naming an
account the bot cannot enter, approval applied) with distinctive secret values, then every process log
(at DEBUG), every payload the fake Slack received, every HTTP answer and every value in Redis is searched.

It also checks that one request id follows the paste from the web process to the worker."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
import redis

from tests.e2e.harness import APPROVER, CHANNEL, REQUESTER, Reply, Stack, http, sign, wait_until
from tests.e2e.test_slack_e2e import APPROVE, CALLBACK_APPLY, _approve_value, _wait_answer
from tests.fakes.slack_api import FakeSlackApi
from tests.security.e2e.secrets import ALL, SIGNING_SECRET

pytestmark = pytest.mark.e2e

UNREACHABLE_ACCOUNT_PASTE = (
    "An error occurred (AccessDeniedException) when calling the Decrypt operation: User: "
    "arn:aws:iam::999988887777:role/Ghost is not authorized to perform: kms:Decrypt on resource: "
    "arn:aws:kms:eu-west-1:999988887777:key/11111111-2222-3333-4444-555555555555"
)


def _signed_with_our_secret(stack: Stack) -> None:
    """The harness signs with its own secret; this run's web process knows only ours."""

    def post_form(fields: dict[str, str]) -> Reply:
        body = urllib.parse.urlencode(fields).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret=SIGNING_SECRET)}
        return http(stack.web_url + "/slack/events", body, headers)

    def post_json(payload: dict[str, Any], *, retry_num: int | None = None,
                  secret: str = SIGNING_SECRET) -> Reply:
        body = json.dumps(payload).encode()
        return http(stack.web_url + "/slack/events", body,
                    {"Content-Type": "application/json", **sign(body, secret=secret)})

    stack.post_form = post_form  # type: ignore[method-assign]
    stack.post_json = post_json  # type: ignore[method-assign]


def _redis_dump(client: redis.Redis[bytes]) -> str:
    parts: list[str] = []
    for key in client.scan_iter(count=500):
        kind = client.type(key)  # type: ignore[no-untyped-call]
        if kind == b"string":
            parts.append(repr(client.get(key)))
        elif kind == b"stream":
            parts.append(repr(client.xrange(key)))
        elif kind == b"hash":
            parts.append(repr(client.hgetall(key)))
    return "\n".join(parts)


def test_no_secret_appears_anywhere_in_a_whole_run(
    stack: Stack, slack: FakeSlackApi, e2e_redis: redis.Redis[bytes], scenarios: dict[str, str]
) -> None:
    stack.env.update({**ALL, "KMS_WHY_LOG_LEVEL": "DEBUG"})
    _signed_with_our_secret(stack)
    web, worker = stack.start_both()
    replies: list[Reply] = []

    paste, thread = scenarios["missing-root-delegation"], "1700000900.000100"
    slack.add_message(CHANNEL, thread, paste, user=REQUESTER)
    replies.append(stack.message_event(paste, ts=thread, event_id="EvSECRETS01"))
    answer = _wait_answer(slack, thread)
    proposal_id = _approve_value(answer)

    replies.append(stack.post_json({"type": "url_verification", "challenge": "c"}, secret="forged-secret"))
    assert replies[-1].status == 401
    replies.append(stack.click(APPROVE, proposal_id, user="UNOTANAPPROVER", message_ts=answer["ts"],
                               thread_ts=thread))
    wait_until(lambda: any(e.get("user") == "UNOTANAPPROVER" for e in slack.ephemerals()), timeout=10,
               what="the refusal of a non-approver")

    ghost = "1700000901.000100"
    slack.add_message(CHANNEL, ghost, UNREACHABLE_ACCOUNT_PASTE, user=REQUESTER)
    replies.append(stack.message_event(UNREACHABLE_ACCOUNT_PASTE, ts=ghost, event_id="EvSECRETS02"))
    _wait_answer(slack, ghost)

    click = stack.click(APPROVE, proposal_id, user=APPROVER, message_ts=answer["ts"], thread_ts=thread)
    replies.append(click)
    wait_until(lambda: len(slack.opened_views()) == 1, timeout=10, what="the confirmation modal")
    replies.append(stack.submit(CALLBACK_APPLY, proposal_id, user=APPROVER, reason="ticket SEC-1"))
    _wait_answer(slack, thread, containing="pplied")
    web.terminate()
    worker.terminate()

    places = {
        "web log": web.output(),
        "worker log": worker.output(),
        "Slack payloads": json.dumps([call.params for call in slack.calls()], default=str),
        "HTTP answers": "\n".join(reply.body.decode(errors="replace") for reply in replies),
        "Redis": _redis_dump(e2e_redis),
    }
    assert len(places["worker log"]) > 1000 and len(places["Redis"]) > 1000  # a whole run was captured
    leaks = [(name, where) for name, value in ALL.items() for where, text in places.items() if value in text]
    assert leaks == []

    # One id from the web process to the worker: the event id.
    def ids(log: str) -> set[str]:
        found = set()
        for line in log.splitlines():
            if line.startswith("{"):
                found.add(str(json.loads(line).get("request_id")))
        return found

    assert "EvSECRETS01" in ids(places["web log"]) and "EvSECRETS01" in ids(places["worker log"])
