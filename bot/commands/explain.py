"""`kms-why explain TEXT`: live diagnosis with the ambient credentials (honours AWS_ENDPOINT_URL)."""

from __future__ import annotations

import json
import uuid
from typing import TextIO

from bot.errors import UserError
from bot.settings import Settings


def run(text: str, settings: Settings, stdout: TextIO, *, as_json: bool) -> None:
    """One diagnosis per denial: JSON objects one per line with `as_json`, else the terminal rendering."""
    from bot.analysis import analyse_parsed
    from bot.demo.render import render
    from bot.parse import parse

    if not text.strip():
        raise UserError("nothing to explain: pass the pasted error as TEXT or on stdin")
    parsed = parse(text)
    if not parsed.relevant or not parsed.denials:
        raise UserError("this text does not look like a KMS access or key error; nothing to explain")
    diagnoses = analyse_parsed(parsed, settings, request_id=f"cli-{uuid.uuid4().hex[:12]}")
    for diagnosis in diagnoses:
        if as_json:
            stdout.write(json.dumps(diagnosis.public_json(), ensure_ascii=False) + "\n")
        else:
            stdout.write(render(diagnosis, colour=stdout.isatty()) + "\n")
    stdout.flush()
