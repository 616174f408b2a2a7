"""Paste-to-answer latency through the real processes, with every AWS call delayed by 50 ms.

Run: `.venv/bin/python benchmarks/pipeline.py [--runs 10] [--delay-ms 50]`. Goal (issue 5): under
400 ms when warm. Needs Redis on 127.0.0.1:6379 (uses DB 11, flushed before and after).

The clock starts when the signed `message` event is sent to `kms-why web` and stops when the fake Slack
Web API receives the `chat.update` that turns the worker's placeholder into the diagnosis. AWS is
moto's server seeded with the demo scenarios, behind a small proxy that holds every request for
`--delay-ms` before forwarding it: what a real AWS round trip adds. The first paste is cold (role
credentials assumed, clients built, service models loaded); the next ones are warm.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from bot.demo.scenarios import seed  # noqa: E402
from bot.demo.world import World  # noqa: E402
from tests.e2e.harness import BOT_TOKEN, CHANNEL, REQUESTER, SIGNING_SECRET, Stack  # noqa: E402
from tests.fakes.slack_api import FakeSlackApi  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/11"
HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host"})


def delaying_proxy(target: str, delay: float) -> ThreadingHTTPServer:
    """Forward every request to `target` after sleeping `delay` seconds; counts the requests."""
    parsed = urllib.parse.urlsplit(target)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        calls = 0

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            time.sleep(delay)
            Handler.calls += 1
            upstream = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            headers["Host"] = parsed.netloc
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in HOP_HEADERS:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            upstream.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.calls = lambda: Handler.calls  # type: ignore[attr-defined]
    return server


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--runs", type=int, default=10, help="warm pastes after the cold one")
    options.add_argument("--delay-ms", type=float, default=50.0, help="delay added to every AWS call")
    options.add_argument("--scenario", default="missing-root-delegation")
    args = options.parse_args()

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    logs = Path("/tmp") / f"kms-why-bench-pipeline-{int(time.time())}"
    logs.mkdir(parents=True, exist_ok=True)
    world = World.start()
    proxy = delaying_proxy(world.endpoint_url, args.delay_ms / 1000)
    try:
        pairs, org_reader = seed(world)
        paste = dict((s.name, text) for s, text in pairs)[args.scenario]
        with FakeSlackApi(tokens=[BOT_TOKEN]) as slack:
            env = {
                "PATH": "/usr/bin:/bin", "HOME": str(logs), **world.environ(),
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{proxy.server_address[1]}",
                "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.url, "REDIS_URL": REDIS_URL, "KMS_WHY_ORG_ROLE_ARN": org_reader,
                "KMS_WHY_LOG_LEVEL": os.environ.get("KMS_WHY_LOG_LEVEL", "WARNING"),
                "KMS_WHY_HEARTBEAT_FILE": str(logs / "beat"),
            }
            stack = Stack(env=env, logs=logs)
            try:
                stack.start_web()
                stack.start_worker()
                timings = [one_paste(stack, slack, paste, index) for index in range(args.runs + 1)]
            finally:
                stack.stop_all()
        calls_per_paste = proxy.calls() / (args.runs + 1)  # type: ignore[attr-defined]
    finally:
        proxy.shutdown()
        world.stop()
        client.flushdb()
    cold, warm = timings[0], timings[1:]
    print(f"(process logs in {logs})")
    print(f"paste-to-answer latency, every AWS call delayed {args.delay_ms:.0f} ms "
          f"(scenario {args.scenario}, ~{calls_per_paste:.1f} AWS requests per paste)")
    print(f"  cold: {cold * 1000:.0f} ms")
    if warm:
        print(f"  warm ({len(warm)} runs): p50 {statistics.median(warm) * 1000:.0f} ms   "
              f"min {min(warm) * 1000:.0f} ms   max {max(warm) * 1000:.0f} ms")
        print(f"  goal warm < 400 ms: {'met' if statistics.median(warm) < 0.4 else 'NOT met'} (median)")


def one_paste(stack: Stack, slack: FakeSlackApi, paste: str, index: int) -> float:
    ts = f"1700002000.{index:06d}"
    slack.add_message(CHANNEL, ts, paste, user=REQUESTER)
    updates_before = len(slack.calls("chat.update"))
    started = time.time()
    reply = stack.message_event(paste, ts=ts, event_id=f"EvPipe{index:06d}")
    if reply.status != 200:
        raise SystemExit(f"web answered {reply.status}: {reply.body[:200]!r}\n{stack.dump()}")
    try:
        update = slack.wait_for("chat.update", count=updates_before + 1, timeout=60)[updates_before]
    except AssertionError:
        raise SystemExit(f"no answer for paste {index}\n{stack.dump()}") from None
    return update.at - started


if __name__ == "__main__":
    main()
