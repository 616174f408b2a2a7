"""Shared fixtures.

`moto_world`: one moto server for the whole test session (moto's state is process-wide anyway).
`world`: the same server emptied for this test. Make a fresh `world.session_factory(settings)` per
test: after a reset moto no longer knows credentials issued before it.
`redis_client`, `prefix`: real Redis (DB 13) and a fresh key prefix per test, cleaned up afterwards.
`e2e_exclusive`: one end-to-end run at a time on this machine (a file lock).
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.demo.world import World

ENGINE = Path(__file__).resolve().parents[1] / "bot" / "policy"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Python imports a compiled extension in preference to the source beside it: after an engine
    source changes, the tests would run the old engine. Refuse to start instead (`make` rebuilds)."""
    stale = [
        source.name
        for source in sorted(ENGINE.glob("*.py"))
        for built in ENGINE.glob(f"{source.stem}.*.so")
        if source.stat().st_mtime > built.stat().st_mtime
    ]
    if stale:
        pytest.exit(
            f"the compiled policy engine is older than {', '.join(stale)}: run `make` (or "
            "`pip install -e .`) to rebuild it, or delete bot/policy/*.so to test the pure-Python engine",
            returncode=2,
        )


@pytest.fixture(scope="session")
def moto_world() -> Iterator[World]:
    world = World.start()
    try:
        yield world
    finally:
        world.stop()


@pytest.fixture
def world(moto_world: World) -> World:
    moto_world.reset()
    return moto_world


REDIS_URL = os.environ.get("KMS_WHY_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    """Real Redis for the queue, store and worker tests (DB 13); a directory may override it."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as problem:  # pragma: no cover - environment problem, not a test result
        pytest.fail(f"these tests need Redis at {REDIS_URL}: {problem}")
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A fresh key prefix per test, its keys removed afterwards."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    yield name
    keys = list(redis_client.scan_iter(match=f"{name}:*", count=500))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture(scope="session")
def e2e_exclusive() -> Iterator[None]:
    """One end-to-end run at a time on this machine: two runs would share (and flush) Redis DB 14.

    Defined once, here: a copy imported into several conftests would be a second session fixture whose
    flock, on its own open file, would wait for the first one forever in the same process.
    """
    with open("/tmp/kms-why-e2e.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
