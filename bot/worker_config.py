"""Worker tuning read from the environment, apart from `Settings` because only the worker needs it.

Defaults suit production; the end-to-end tests shorten the redelivery idle time and the backoff.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkerConfig(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    # A job whose worker stopped touching it for this long goes to another worker (goal: < 60 s).
    redeliver_idle_seconds: float = Field(
        default=30.0, gt=0, validation_alias="KMS_WHY_REDELIVER_IDLE_SECONDS"
    )
    # A worker stops keeping a job to itself after this long, so a hung job is eventually redelivered.
    job_timeout_seconds: float = Field(default=300.0, gt=0, validation_alias="KMS_WHY_JOB_TIMEOUT_SECONDS")
    attempts: int = Field(default=4, ge=1, validation_alias="KMS_WHY_JOB_ATTEMPTS")
    retry_base_seconds: float = Field(default=0.5, ge=0, validation_alias="KMS_WHY_RETRY_BASE_SECONDS")
    # A job handed out this many times (its workers keep dying) is dead-lettered.
    max_deliveries: int = Field(default=5, ge=1, validation_alias="KMS_WHY_MAX_DELIVERIES")
    # Liveness: the worker touches this file every few seconds (`find FILE -mmin -1` in a probe).
    heartbeat_file: str = Field(
        default="/tmp/kms-why-worker.heartbeat", validation_alias="KMS_WHY_HEARTBEAT_FILE"
    )
    metrics_port: int | None = Field(default=None, validation_alias="KMS_WHY_WORKER_METRICS_PORT")
    # Tests only: sleep this long inside an analysis job, after the placeholder is posted, so a test
    # can kill the worker mid-job. Zero (the default) in any real deployment.
    test_pause_seconds: float = Field(default=0.0, ge=0, validation_alias="KMS_WHY_TEST_PAUSE_SECONDS")
    # Tests only: where that pause happens. `after_put_key_policy`: in an apply, after PutKeyPolicy
    # succeeded and before anything is recorded, the window an interrupted apply must survive.
    test_pause_at: Literal["analysis", "after_put_key_policy"] = Field(
        default="analysis", validation_alias="KMS_WHY_TEST_PAUSE_AT"
    )
    # How long a decision may hold its key's lock. A worker killed mid-apply leaves the lock to expire
    # after this long; applies take a few seconds, so a minute leaves room for AWS retries.
    key_lock_seconds: float = Field(default=60.0, gt=0, validation_alias="KMS_WHY_KEY_LOCK_SECONDS")

    @property
    def heartbeat_interval_seconds(self) -> float:
        return max(0.2, min(5.0, self.redeliver_idle_seconds / 3))
