"""Process settings, read from the environment (and a `.env` file) by pydantic-settings.

The names are a public interface (see docs/ and `interfaces.md`): change them only with an issue.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SLACK_DEFAULT_API_URL = "https://slack.com/api/"


def _split_ids(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


class Settings(BaseSettings):
    """Everything a kms-why process reads from its environment."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    slack_bot_token: str | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN", repr=False)
    slack_signing_secret: str | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET", repr=False
    )
    slack_app_token: str | None = Field(default=None, validation_alias="SLACK_APP_TOKEN", repr=False)
    slack_api_url: str = Field(default=SLACK_DEFAULT_API_URL, validation_alias="SLACK_API_URL")
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", validation_alias="REDIS_URL")
    reader_role: str = Field(default="kms-why-reader", validation_alias="KMS_WHY_READER_ROLE")
    writer_role: str = Field(default="kms-why-writer", validation_alias="KMS_WHY_WRITER_ROLE")
    org_role_arn: str | None = Field(default=None, validation_alias="KMS_WHY_ORG_ROLE_ARN")
    reader_external_id: str | None = Field(
        default=None, validation_alias="KMS_WHY_EXTERNAL_ID", repr=False
    )
    approvers: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), validation_alias="KMS_WHY_APPROVERS"
    )
    channels: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), validation_alias="KMS_WHY_CHANNELS"
    )
    proposal_ttl_seconds: int = Field(
        default=3600, ge=60, validation_alias=AliasChoices("KMS_WHY_PROPOSAL_TTL_SECONDS")
    )
    aws_default_region: str = Field(
        default="us-east-1", validation_alias=AliasChoices("AWS_DEFAULT_REGION", "AWS_REGION")
    )

    @field_validator("approvers", "channels", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split_ids(value)

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @property
    def approver_users(self) -> frozenset[str]:
        return frozenset(a for a in self.approvers if a.startswith(("U", "W")))

    @property
    def approver_groups(self) -> frozenset[str]:
        return frozenset(a for a in self.approvers if a.startswith("S"))
