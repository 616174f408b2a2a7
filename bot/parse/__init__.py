"""Reads pasted KMS errors: `parse(text) -> ParseResult` (pure, no I/O; interfaces.md `kms-why parse`).

normalize.py undoes escapes, boxes and hard wraps; wrappers.py cuts the paste into error units and reads
the SDK/tool wrapper around each; grammar.py reads the IAM denial sentence; services.py and codes.py
recognise what services and KMS say without it; parser.py puts a unit's findings together.
"""

from bot.parse.models import Denial, ParseResult
from bot.parse.parser import parse

__all__ = ["Denial", "ParseResult", "parse"]
