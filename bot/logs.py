"""Structured logs: one JSON object per line on stderr, a request id that follows a paste from the web
process to the worker, and redaction of credentials that might end up in a message or a traceback.

The request id lives in a contextvar: the web process binds it when it accepts an event and puts it
in the job (`AnalyseJob.request_id`); the worker binds the job's id while it runs the job. Every
record logged inside `bind_request_id(...)` carries it.

Redaction runs on the handler, after %-formatting and on the rendered traceback, so a token inside an
exception message or a botocore error is masked too. It is a safety net, not a licence to log secrets.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

MASK = "[REDACTED]"
_SECRET_ENV = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "KMS_WHY_EXTERNAL_ID",
)
_PATTERNS = (
    # Slack bot/user/app-level/refresh/config tokens.
    re.compile(r"\bxox[abeprs]-[A-Za-z0-9-]{6,}"),
    re.compile(r"\bxapp-[A-Za-z0-9-]{6,}"),
    # An AWS secret key or session token next to its name, in env, ini, JSON or header form.
    re.compile(
        r"(?i)((?:aws_secret_access_key|secret_?access_?key|aws_session_token|session_?token"
        r"|x-amz-security-token)[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9/+=%]{16,}"
    ),
    # A bare STS session token: base64 that always starts with the same serialised header.
    re.compile(r"\b(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9/+=]{20,}"),
    # A bare secret access key: exactly 40 base64 characters with mixed case, standing alone.
    re.compile(
        r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[A-Z])"
        r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
    ),
)

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("kms_why_request_id", default=None)

# Attributes every LogRecord has; anything else came from `extra=` and is worth printing.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def current_request_id() -> str | None:
    return _request_id.get()


@contextmanager
def bind_request_id(request_id: str | None = None) -> Iterator[str]:
    """Tag every record logged inside the block with `request_id` (a fresh one when None)."""
    rid = request_id or new_request_id()
    token = _request_id.set(rid)
    try:
        yield rid
    finally:
        _request_id.reset(token)


class Redactor:
    """Masks credential patterns and the exact values of known secrets."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Short values would mask ordinary words; real secrets are long.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(_mask_match, text)
        return text


def _mask_match(match: re.Match[str]) -> str:
    prefix = match.group(1) if match.re.groups else ""
    return f"{prefix}{MASK}"


class RedactionFilter(logging.Filter):
    """Handler filter: renders the message and the traceback once, masked, before any formatter sees them."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redact = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _RECORD_FIELDS and isinstance(value, str):
                setattr(record, name, self._redact(value))
        return True


class RequestIdFilter(logging.Filter):
    """Copies the bound request id onto the record, so any formatter can print `%(request_id)s`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, msg, request_id, any `extra=` fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or _request_id.get(),
        }
        for name, value in vars(record).items():
            if name not in _RECORD_FIELDS and name not in entry:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str, ensure_ascii=False)


_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure_logging(
    level: str | int = "INFO",
    json: bool = True,
    secrets: Iterable[str | None] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Replace the root handlers with one stderr handler (JSON or text), request ids and redaction.

    The values of the Slack and AWS credential variables in the environment are always redacted, in
    addition to `secrets`. Returns the handler (tests attach to its stream).
    """
    known = [*secrets, *(os.environ.get(name) for name in _SECRET_ENV)]
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactionFilter(Redactor(known)))
    handler.setFormatter(JsonFormatter() if json else logging.Formatter(_TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(_level(level))
    # Their DEBUG lines carry request bodies and headers; keep them quiet unless asked for.
    for noisy in ("botocore", "boto3", "urllib3", "slack_sdk", "slack_bolt"):
        logging.getLogger(noisy).setLevel(max(root.level, logging.INFO))
    return handler


def _level(level: str | int) -> int:
    if isinstance(level, int):
        return level
    value = logging.getLevelNamesMapping().get(level.upper())
    return value if value is not None else logging.INFO
