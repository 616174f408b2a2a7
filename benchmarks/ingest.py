"""Ingest: signed Slack events at fixed rates against a real `kms-why web`: acknowledgement p50, p99, errors.

Run: `.venv/bin/python benchmarks/ingest.py [--rates 100,300] [--seconds 30]` (issue 7 asks for 30 s at
100 and 300 events per second; the default of 10 s is for quick runs). Needs Redis on 127.0.0.1:6379
(uses DB 11, flushed before and after).

Open loop, as benchmarks/web_ack.py: each request is sent on a fixed schedule on a new connection,
signed like Slack's, with a unique event id and a relevant KMS paste, so every one is verified, parsed,
de-duplicated and enqueued. No worker runs. An error is any answer other than 2xx, or no answer within
10 s (connection refused or reset, timeout). The load generator runs on the same machine as the web
process, so on a small machine the figures include its CPU contention; the achieved send rate is printed
so a generator that could not keep up is visible.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import redis  # noqa: E402
from web_ack import PASTE, REDIS_URL, percentile  # noqa: E402

from tests.e2e.harness import BOT_TOKEN, SIGNING_SECRET, Stack  # noqa: E402
from tests.fakes.slack_api import FakeSlackApi  # noqa: E402


@dataclass
class Run:
    rate: float
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    sent_over: float = 0.0

    @property
    def errors(self) -> int:
        return len(self.failures) + sum(1 for s in self.statuses if not 200 <= s < 300)

    def report(self) -> str:
        sent = len(self.latencies) + len(self.failures)
        lines = [f"ingest at {self.rate:.0f} events/s for {self.seconds:.0f} s: {sent} requests, "
                 f"achieved send rate {sent / self.sent_over:.0f}/s"]
        if self.latencies:
            p50, p99 = (percentile(self.latencies, f) * 1000 for f in (0.50, 0.99))
            worst = max(self.latencies) * 1000
            lines.append(f"  ack p50: {p50:.1f} ms   p99: {p99:.1f} ms   max: {worst:.1f} ms")
        kinds = sorted({str(s) for s in self.statuses if not 200 <= s < 300} | set(self.failures))
        lines.append(f"  errors: {self.errors} ({', '.join(kinds) if kinds else 'none'})")
        return "\n".join(lines)


def load(stack: Stack, rate: float, warmup: float, seconds: float, tag: str) -> Run:
    run = Run(rate, seconds)
    lock = threading.Lock()
    interval = 1.0 / rate
    total, measured_from = int((warmup + seconds) * rate), int(warmup * rate)

    def send(index: int) -> None:
        try:
            reply = stack.message_event(PASTE, ts=f"1700002000.{index:06d}", event_id=f"Ev{tag}{index:08d}")
        except OSError as problem:  # no HTTP answer at all
            if index >= measured_from:
                with lock:
                    run.failures.append(type(problem).__name__)
            return
        if index >= measured_from:
            with lock:
                run.latencies.append(reply.seconds)
                run.statuses.append(reply.status)

    with ThreadPoolExecutor(max_workers=64) as pool:
        start = time.perf_counter()
        measured_start = start + warmup
        for index in range(total):
            delay = start + index * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(send, index)
        run.sent_over = max(time.perf_counter() - measured_start, 1e-9)
    return run


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--rates", default="100,300", help="comma-separated events per second")
    options.add_argument("--seconds", type=float, default=10.0, help="measured duration per rate")
    options.add_argument("--warmup", type=float, default=1.0, help="seconds of unmeasured load first")
    args = options.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r.strip()]

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    logs = Path("/tmp") / f"kms-why-bench-ingest-{int(time.time())}"
    logs.mkdir(parents=True, exist_ok=True)
    runs: list[Run] = []
    with FakeSlackApi(tokens=[BOT_TOKEN]) as slack:
        stack = Stack(
            env={"PATH": "/usr/bin:/bin", "HOME": str(logs), "SLACK_BOT_TOKEN": BOT_TOKEN,
                 "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.url, "REDIS_URL": REDIS_URL,
                 "KMS_WHY_LOG_LEVEL": "WARNING", "KMS_WHY_HEARTBEAT_FILE": str(logs / "beat")},
            logs=logs,
        )
        try:
            stack.start_web()
            for number, rate in enumerate(rates):
                runs.append(load(stack, rate, args.warmup, args.seconds, f"I{number}"))
        finally:
            stack.stop_all()
            client.flushdb()
    print("(loopback, new connection per request, signed relevant pastes enqueued, no worker)")
    for run in runs:
        print(run.report())


if __name__ == "__main__":
    main()
