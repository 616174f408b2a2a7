"""Running the real `kms-why web` and `kms-why worker` processes, and talking to them as Slack does.

Everything is real but Slack: the processes (subprocesses of `.venv/bin/kms-why`), Redis (DB 14,
flushed per test), AWS (moto's server in this process, several accounts), and the Slack Web API is the
fake in `tests/fakes/slack_api.py`. Requests to `/slack/events` carry a correct v0 signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
KMS_WHY = ROOT / ".venv" / "bin" / "kms-why"
REDIS_URL = os.environ.get("KMS_WHY_E2E_REDIS_URL", "redis://127.0.0.1:6379/14")
SIGNING_SECRET = "e2e-signing-secret"
BOT_TOKEN = "xoxb-e2e-bot-token"
TEAM = "T0FAKETEAM"
CHANNEL = "C0E2E00001"
REQUESTER = "UREQUESTER"
APPROVER = "UAPPROVER1"
APPROVER_2 = "UAPPROVER2"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sign(body: bytes, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class Reply:
    status: int
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    url: str, body: bytes | None = None, headers: Mapping[str, str] | None = None, timeout: float = 10
) -> Reply:
    request = urllib.request.Request(
        url, data=body, headers=dict(headers or {}), method="POST" if body else "GET"
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, response.read(), time.perf_counter() - started)
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read(), time.perf_counter() - started)


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    def terminate(self, timeout: float = 15) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return int(self.popen.returncode)


@dataclass
class Stack:
    """The processes of one test and the environment they share."""

    env: dict[str, str]
    logs: Path
    processes: list[Process] = field(default_factory=list)
    web_url: str = ""

    def spawn(self, name: str, *args: str, extra_env: Mapping[str, str] | None = None) -> Process:
        log = self.logs / f"{name}.log"
        handle = log.open("ab")
        popen = subprocess.Popen(
            [str(KMS_WHY), *args],
            env={**self.env, **(extra_env or {})},
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=self.logs,  # no stray .env from the repository
        )
        handle.close()
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def start_web(self, *, wait: bool = True) -> Process:
        port = free_port()
        web = self.spawn("web", "web", "--host", "127.0.0.1", "--port", str(port))
        self.web_url = f"http://127.0.0.1:{port}"
        if wait:
            self.wait_web(web)
        return web

    def wait_web(self, web: Process) -> None:
        wait_until(lambda: _answers(self.web_url + "/healthz"), timeout=30, what="web /healthz", process=web)

    def start_worker(self, name: str = "worker", *, wait: bool = True, **extra_env: str) -> Process:
        worker = self.spawn(name, "worker", extra_env=extra_env)
        if wait:
            self.wait_worker(worker, extra_env.get("KMS_WHY_HEARTBEAT_FILE"))
        return worker

    def wait_worker(self, worker: Process, heartbeat_file: str | None = None) -> None:
        beat = Path(heartbeat_file or self.env["KMS_WHY_HEARTBEAT_FILE"])
        wait_until(beat.exists, timeout=30, what=f"{worker.name} heartbeat", process=worker)

    def start_both(self, **worker_env: str) -> tuple[Process, Process]:
        """Web and worker started side by side (start-up is mostly imports: overlap them)."""
        web = self.start_web(wait=False)
        worker = self.start_worker(wait=False, **worker_env)
        self.wait_web(web)
        self.wait_worker(worker, worker_env.get("KMS_WHY_HEARTBEAT_FILE"))
        return web, worker

    def stop_all(self) -> None:
        for process in self.processes:
            process.kill()

    def dump(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.output()[-4000:]}" for p in self.processes)

    # Requests as Slack sends them --------------------------------------------------------------

    def post_json(
        self, payload: dict[str, Any], *, retry_num: int | None = None, secret: str = SIGNING_SECRET
    ) -> Reply:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **sign(body, secret=secret)}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return http(self.web_url + "/slack/events", body, headers)

    def post_form(self, fields: dict[str, str]) -> Reply:
        body = urllib.parse.urlencode(fields).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
        return http(self.web_url + "/slack/events", body, headers)

    def message_event(
        self,
        text: str,
        *,
        ts: str,
        event_id: str,
        user: str = REQUESTER,
        channel: str = CHANNEL,
        retry_num: int | None = None,
        kind: str = "message",
    ) -> Reply:
        payload = {
            "token": "legacy",
            "team_id": TEAM,
            "api_app_id": "A0KMSWHY",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": "UKMSWHYBOT", "is_bot": True}],
            "event": {
                "type": kind,
                "channel": channel,
                "channel_type": "channel",
                "user": user,
                "text": text,
                "ts": ts,
                "event_ts": ts,
                "team": TEAM,
            },
        }
        return self.post_json(payload, retry_num=retry_num)

    def slash_command(self, text: str, *, user: str = REQUESTER, response_url: str = "") -> Reply:
        return self.post_form(
            {
                "token": "legacy",
                "team_id": TEAM,
                "channel_id": CHANNEL,
                "channel_name": "ops",
                "user_id": user,
                "user_name": "someone",
                "command": "/kms-why",
                "text": text,
                "response_url": response_url,
                "trigger_id": f"trig-{time.time_ns()}",
                "api_app_id": "A0KMSWHY",
            }
        )

    def click(self, action_id: str, value: str, *, user: str, message_ts: str, thread_ts: str) -> Reply:
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM},
            "user": {"id": user, "team_id": TEAM},
            "api_app_id": "A0KMSWHY",
            "trigger_id": f"trig-{time.time_ns()}",
            "channel": {"id": CHANNEL},
            "container": {"type": "message", "channel_id": CHANNEL, "message_ts": message_ts},
            "message": {"ts": message_ts, "thread_ts": thread_ts, "type": "message"},
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "b",
                    "value": value,
                    "type": "button",
                    "action_ts": str(time.time()),
                }
            ],
        }
        return self.post_form({"payload": json.dumps(payload)})

    def submit(self, callback_id: str, proposal_id: str, *, user: str, reason: str) -> Reply:
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM},
            "user": {"id": user, "team_id": TEAM},
            "api_app_id": "A0KMSWHY",
            "trigger_id": f"trig-{time.time_ns()}",
            "view": {
                "id": f"V{time.time_ns()}",
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": proposal_id,
                "state": {"values": {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}},
            },
        }
        return self.post_form({"payload": json.dumps(payload)})


def _answers(url: str) -> bool:
    try:
        return http(url, timeout=1).status == 200
    except OSError:
        return False


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    process: Process | None = None,
    interval: float = 0.05,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if process is not None and process.popen.poll() is not None:
            raise AssertionError(
                f"{process.name} exited ({process.popen.returncode}) before {what}:\n"
                f"{process.output()[-3000:]}"
            )
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
