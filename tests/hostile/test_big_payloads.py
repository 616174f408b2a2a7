"""Oversized and deeply nested bodies at `/slack/events` (issue 7): refused with a 4xx before Bolt when
over the 1 MiB cap, otherwise parsed and answered like any paste; never a 500."""

from __future__ import annotations

from bot.queue import JobQueue
from bot.store import Store
from tests.handlers.conftest import CHANNEL, PASTE
from tests.hostile.slack_app import SignedCaller


def _event(text: str, ts: str, event_id: str) -> dict[str, object]:
    return {"type": "event_callback", "team_id": "T0FAKETEAM", "event_id": event_id,
            "authorizations": [{"user_id": "UKMSWHYBOT", "is_bot": True}],
            "event": {"type": "message", "channel": CHANNEL, "user": "UREQUESTER", "text": text, "ts": ts}}


def _queued(queue: JobQueue) -> list[bytes]:
    return [fields[b"job"] for _, fields in queue._redis.xrange(queue.stream)]


def test_a_paste_over_one_mebibyte_is_refused_with_413(caller: SignedCaller,
                                                       app_store: tuple[JobQueue, Store]) -> None:
    queue, _ = app_store
    before = len(_queued(queue))
    answer = caller.json(_event("x" * (1 << 20) + PASTE, "1700000500.000001", "EvHuge"))
    assert answer.status == 413
    assert len(_queued(queue)) == before


def test_a_paste_of_900_kb_with_one_error_in_it_is_queued_once(caller: SignedCaller,
                                                               app_store: tuple[JobQueue, Store]) -> None:
    queue, _ = app_store
    before = len(_queued(queue))
    noise = "deploy log line <!channel> @here *bold* `code` arn:aws:kms:\n"
    text = noise * (450_000 // len(noise)) + PASTE + "\n" + noise * (450_000 // len(noise))
    answer = caller.json(_event(text, "1700000500.000002", "EvBig"))
    assert answer.status == 200
    assert len(_queued(queue)) == before + 1


def test_a_deeply_nested_json_body_is_refused_not_a_500(caller: SignedCaller) -> None:
    body = ('{"type": "event_callback", "event": ' + "[" * 50_000 + "]" * 50_000 + "}").encode()
    answer = caller.post(body, "application/json")
    assert 400 <= answer.status < 500


def test_a_deeply_nested_interaction_payload_is_refused_not_a_500(caller: SignedCaller) -> None:
    payload = '{"type": "block_actions", "actions": ' + "[" * 50_000 + "]" * 50_000 + "}"
    answer = caller.form({"payload": payload})
    assert 400 <= answer.status < 500
