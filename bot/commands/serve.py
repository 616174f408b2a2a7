"""What `kms-why web`, `socket` and `worker` share: settings checked up front, Redis clients built.

A missing credential is the operator's mistake, not a crash: one line naming the variable, exit 2.
"""

from __future__ import annotations

import os

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from bot.errors import UserError
from bot.queue import JobQueue
from bot.settings import Settings
from bot.store import Store
from bot.worker_config import WorkerConfig

_PURPOSE = {
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_app_token": "SLACK_APP_TOKEN",
}


def _one_line(problem: ValidationError) -> str:
    first = problem.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "settings"
    return f"invalid setting {where}: {first.get('msg', 'invalid value')}"


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as problem:
        raise UserError(_one_line(problem)) from None


def load_worker_config() -> WorkerConfig:
    try:
        return WorkerConfig()
    except ValidationError as problem:
        raise UserError(_one_line(problem)) from None


def require(settings: BaseSettings, *fields: str, command: str) -> None:
    """Exit 2 naming the first missing variable the command needs."""
    for name in fields:
        if not getattr(settings, name):
            raise UserError(f"{_PURPOSE.get(name, name.upper())} is not set; `kms-why {command}` needs it")


def queue_and_store(settings: Settings, config: WorkerConfig | None = None) -> tuple[JobQueue, Store]:
    idle_ms = int(config.redeliver_idle_seconds * 1000) if config else 30_000
    try:
        queue = JobQueue.from_url(settings.redis_url, redeliver_idle_ms=idle_ms)
        store = Store.from_url(settings.redis_url, proposal_ttl_seconds=settings.proposal_ttl_seconds)
    except ValueError as problem:  # redis-py's verdict on a malformed URL
        raise UserError(f"invalid REDIS_URL: {problem}") from None
    return queue, store


def configure_process_logging(settings: Settings) -> None:
    """Long-running processes log JSON lines (KMS_WHY_LOG_FORMAT=text for people), INFO by default."""
    from bot.logs import configure_logging

    configure_logging(
        level=os.environ.get("KMS_WHY_LOG_LEVEL", "INFO"),
        json=os.environ.get("KMS_WHY_LOG_FORMAT", "json").lower() != "text",
        secrets=(settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token),
    )


def install_queue_probe(queue: JobQueue) -> None:
    from bot import metrics

    metrics.set_queue_probe(queue.metrics_probe())
