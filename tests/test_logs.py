"""`bot.logs`: JSON lines, the request id across a web -> worker hand-off, and credential redaction."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator

import pytest

from bot import logs
from bot.jobs import AnalyseJob, JobEnvelope, SlackPlace

BOT_TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
APP_TOKEN = "xapp-1-A0123ABCD-1234567890123-0a1b2c3d4e5f"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexample" + "A" * 120


@pytest.fixture
def stream(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    out = io.StringIO()
    logs.configure_logging("DEBUG", json=True, stream=out)
    yield out
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def _lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_each_record_is_one_json_object_with_extras(stream: io.StringIO) -> None:
    logging.getLogger("kms_why.worker").info("analysed %s", "abc-123", extra={"cause": "no_root", "calls": 9})
    (entry,) = _lines(stream)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "kms_why.worker"
    assert entry["msg"] == "analysed abc-123"
    assert entry["cause"] == "no_root"
    assert entry["calls"] == 9
    assert str(entry["ts"]).endswith("+00:00")
    assert entry["request_id"] is None


def test_request_id_follows_a_paste_from_web_to_worker(stream: io.StringIO) -> None:
    log = logging.getLogger("kms_why")
    place = SlackPlace(channel_id="C1", user_id="U1", thread_ts="1.2")
    with logs.bind_request_id() as rid:  # the web process accepts an event
        log.info("enqueued")
        wire = JobEnvelope(job=AnalyseJob(job_id="Ev1", request_id=rid, text="...", place=place))
        payload = wire.model_dump_json()
    log.info("outside")

    def worker() -> None:  # another thread (another process in production) picks the job up
        job = JobEnvelope.model_validate_json(payload).job
        with logs.bind_request_id(job.request_id):
            log.info("analysing")

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    entries = _lines(stream)
    assert [e["request_id"] for e in entries] == [rid, None, rid]
    assert len(rid) == 16


def test_bind_request_id_nests_and_restores() -> None:
    with logs.bind_request_id("outer"):
        with logs.bind_request_id("inner"):
            assert logs.current_request_id() == "inner"
        assert logs.current_request_id() == "outer"
    assert logs.current_request_id() is None


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"posting with token {BOT_TOKEN}", BOT_TOKEN),
        (f"socket mode token={APP_TOKEN}", APP_TOKEN),
        (f"Authorization: Bearer xoxp-11-22-33-{'a' * 32}", "xoxp-11-22-33-"),
        (f"signature check with {SIGNING_SECRET} failed", SIGNING_SECRET),
        (f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET),
        (f'{{"SecretAccessKey": "{AWS_SECRET}", "AccessKeyId": "ASIAEXAMPLE"}}', AWS_SECRET),
        (f"bare key {AWS_SECRET} in a message", AWS_SECRET),
        (f"X-Amz-Security-Token: {SESSION_TOKEN}", SESSION_TOKEN[:40]),
        (f"token {SESSION_TOKEN}", SESSION_TOKEN[:40]),
    ],
)
def test_credentials_are_masked(stream: io.StringIO, text: str, secret: str) -> None:
    logging.getLogger("kms_why").warning("%s", text)
    out = stream.getvalue()
    assert secret not in out
    assert logs.MASK in out


def test_ordinary_ids_survive_redaction(stream: io.StringIO) -> None:
    # A 64-hex policy hash, a git-like lowercase 40-hex id, ARNs and access key ids are not secrets.
    text = (
        "key arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab "
        "sha256 " + "ab12" * 16 + " commit " + "0123456789abcdef" * 2 + "01234567 AKIAIOSFODNN7EXAMPLE"
    )
    logging.getLogger("kms_why").info(text)
    assert _lines(stream)[0]["msg"] == text


def test_tracebacks_and_extras_are_masked(stream: io.StringIO) -> None:
    try:
        raise RuntimeError(f"slack said invalid_auth for {BOT_TOKEN}")
    except RuntimeError:
        logging.getLogger("kms_why").exception("post failed", extra={"token": BOT_TOKEN})
    (entry,) = _lines(stream)
    assert BOT_TOKEN not in stream.getvalue()
    assert "RuntimeError" in str(entry["exc"])
    assert entry["token"] == logs.MASK


def test_text_mode_prints_the_request_id(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    out = io.StringIO()
    try:
        logs.configure_logging("INFO", json=False, stream=out)
        with logs.bind_request_id("rid-42"):
            logging.getLogger("kms_why").info("hello %s", BOT_TOKEN)
            logging.getLogger("kms_why").debug("not shown")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    line = out.getvalue()
    assert "[rid-42] hello [REDACTED]" in line
    assert "not shown" not in line
