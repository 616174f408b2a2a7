"""The handler tests' harness (the real Bolt app served by waitress, the fake Slack Web API, Redis DB 15
with a key prefix per test, signed requests), reused as is."""

from tests.handlers.conftest import harness, make_harness, redis_client, slack  # noqa: F401
