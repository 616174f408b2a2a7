"""`kms-why parse`: a paste on stdin in, the ParseResult JSON out (interfaces.md, `kms-why parse` output).

`--jsonl` reads one JSON string per line and writes one JSON object per line, in order. A line that is
not a JSON string gets `{"error": "..."}` in its place, the batch goes on, and the command ends with
exit 2 (one line on stderr), so a caller can both keep the alignment and notice the bad input.
Bytes that are not UTF-8 are replaced (U+FFFD), never fatal.
"""

from __future__ import annotations

import json
from typing import TextIO

from bot.errors import UserError
from bot.parse import parse


def _read_all(stdin: TextIO) -> str:
    buffer = getattr(stdin, "buffer", None)
    if buffer is not None:
        data: bytes = buffer.read()
        return data.decode("utf-8", errors="replace")
    return stdin.read()


def _lines(stdin: TextIO) -> list[str]:
    text = _read_all(stdin)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _dump(payload: dict[str, object]) -> str:
    return json.dumps(payload, ensure_ascii=True, separators=(", ", ": "))


def _one_line(line: str, number: int) -> tuple[dict[str, object], bool]:
    try:
        paste = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as problem:
        return {"error": f"line {number}: not valid JSON ({problem})"}, False
    if not isinstance(paste, str):
        return {"error": f"line {number}: expected a JSON string, got {type(paste).__name__}"}, False
    return parse(paste).public_json(), True


def run(stdin: TextIO, stdout: TextIO, *, jsonl: bool) -> None:
    if not jsonl:
        stdout.write(_dump(parse(_read_all(stdin)).public_json()) + "\n")
        return
    bad = 0
    for number, line in enumerate(_lines(stdin), start=1):
        payload, ok = _one_line(line, number)
        bad += not ok
        stdout.write(_dump(payload) + "\n")
    stdout.flush()
    if bad:
        raise UserError(f'{bad} input line(s) were not JSON strings; see the "error" objects in the output')
