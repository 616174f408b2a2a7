"""Errors that reach a user as one clear line (never a traceback)."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a bad setting: the CLI prints the message on stderr and exits 2."""
