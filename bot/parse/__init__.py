"""Reads pasted KMS errors: `parse(text) -> ParseResult` (pure, no I/O)."""

from bot.parse.models import Denial, ParseResult
from bot.parse.parser import parse

__all__ = ["Denial", "ParseResult", "parse"]
