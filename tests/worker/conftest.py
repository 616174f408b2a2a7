"""Real Redis for the queue and store tests: DB 13, a fresh key prefix per test, removed afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

REDIS_URL = os.environ.get("KMS_WHY_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as problem:  # pragma: no cover - environment problem, not a test result
        pytest.fail(f"these tests need Redis at {REDIS_URL}: {problem}")
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client: redis.Redis) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:12]}"
    yield name
    keys = list(redis_client.scan_iter(match=f"{name}:*", count=500))
    if keys:
        redis_client.delete(*keys)
