"""A `redis-server` of the test's own, on a free loopback port, that the test may kill and restart.

Configured as a production Redis for kms-why should be (RELIABILITY.md): append-only file
on, fsync on every write, so a job the web process acknowledged survives a crash of Redis itself.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from tests.e2e.harness import free_port


class ThrowawayRedis:
    def __init__(self, directory: Path, *, appendonly: bool = True) -> None:
        self.directory = directory
        self.port = free_port()
        self.appendonly = appendonly
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> ThrowawayRedis:
        server = shutil.which("redis-server")
        if server is None:  # pragma: no cover - environment problem, not a test result
            raise RuntimeError("the Redis fault tests need redis-server on PATH")
        durability = ["--appendonly", "yes", "--appendfsync", "always"] if self.appendonly else [
            "--appendonly", "no"]
        log = (self.directory / "redis.log").open("ab")
        self._process = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--dir",
             str(self.directory), *durability],
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()
        return self

    def kill(self) -> None:
        """SIGKILL: a crash, not a clean shutdown; only what is on disk survives."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(10)

    def client(self) -> redis.Redis[bytes]:
        return redis.Redis(port=self.port)
