"""How fast a real `kms-why web` acknowledges Slack events: p50/p99 at a steady 100 events/s on loopback.

Run: `.venv/bin/python benchmarks/web_ack.py [--rate 100] [--seconds 15]`. Goal (issue 5): p99 under
50 ms. Needs Redis on 127.0.0.1:6379 (uses DB 11, flushed before and after).

Open loop: requests are sent on a fixed schedule whatever the previous ones did (a slow answer does
not delay the next send, so queueing shows in the figures). Each request is a new connection, signed
like Slack's, carrying a relevant KMS paste, so every one is parsed, de-duplicated and enqueued — the
web process's full work. No worker runs: the jobs only accumulate. Slack's Web API is the tests' fake
(the web process calls `auth.test` once to learn its bot id).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from tests.e2e.harness import BOT_TOKEN, SIGNING_SECRET, Stack  # noqa: E402
from tests.fakes.slack_api import FakeSlackApi  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/11"
PASTE = (
    "An error occurred (AccessDeniedException) when calling the Decrypt operation: User: "
    "arn:aws:sts::111122223333:assumed-role/MyRole/alice is not authorized to perform: kms:Decrypt on "
    "resource: arn:aws:kms:ap-northeast-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab because "
    "no resource-based policy allows the kms:Decrypt action"
)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--rate", type=float, default=100.0, help="events per second")
    options.add_argument("--seconds", type=float, default=15.0, help="duration of the measured run")
    options.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load first")
    args = options.parse_args()

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    logs = Path("/tmp") / f"kms-why-bench-web-{int(time.time())}"
    logs.mkdir(parents=True, exist_ok=True)
    with FakeSlackApi(tokens=[BOT_TOKEN]) as slack:
        stack = Stack(
            env={"PATH": "/usr/bin:/bin", "HOME": str(logs), "SLACK_BOT_TOKEN": BOT_TOKEN,
                 "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.url, "REDIS_URL": REDIS_URL,
                 "KMS_WHY_LOG_LEVEL": "WARNING", "KMS_WHY_HEARTBEAT_FILE": str(logs / "beat")},
            logs=logs,
        )
        try:
            stack.start_web()
            latencies, statuses = run_load(stack, args.rate, args.warmup, args.seconds)
        finally:
            stack.stop_all()
            client.flushdb()
    ok = [s for s in statuses if 200 <= s < 300]
    print(f"web acknowledgement latency at {args.rate:.0f} events/s for {args.seconds:.0f} s "
          f"(loopback, new connection per request, relevant pastes enqueued)")
    print(f"  requests: {len(latencies)}  2xx: {len(ok)}  other: {len(statuses) - len(ok)}")
    p50, p90, p99 = (percentile(latencies, f) * 1000 for f in (0.50, 0.90, 0.99))
    print(f"  p50: {p50:.1f} ms   p90: {p90:.1f} ms   p99: {p99:.1f} ms   "
          f"max: {max(latencies) * 1000:.1f} ms   mean: {statistics.fmean(latencies) * 1000:.1f} ms")
    print(f"  goal p99 < 50 ms: {'met' if percentile(latencies, 0.99) < 0.050 else 'NOT met'}")


def run_load(stack: Stack, rate: float, warmup: float, seconds: float) -> tuple[list[float], list[int]]:
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    interval = 1.0 / rate
    total = int((warmup + seconds) * rate)
    measured_from = int(warmup * rate)

    def send(index: int) -> None:
        reply = stack.message_event(PASTE, ts=f"1700001000.{index:06d}", event_id=f"EvBench{index:08d}")
        if index >= measured_from:
            with lock:
                latencies.append(reply.seconds)
                statuses.append(reply.status)

    with ThreadPoolExecutor(max_workers=32) as pool:
        start = time.perf_counter()
        for index in range(total):
            delay = start + index * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(send, index)
    return latencies, statuses


if __name__ == "__main__":
    main()
