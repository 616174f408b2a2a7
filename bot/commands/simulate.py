"""`kms-why simulate FILE` (interfaces.md): a simulation document in, the result JSON out.

Single document: malformed input (bad JSON, a wrong type, an unknown field, a malformed policy) raises
`UserError` with one line naming where it is; the CLI prints it and exits 2.

`--jsonl`: one document per stdin line, one result per line, same order. A bad line prints
`{"error": "line N: …"}` in its place and processing goes on; at the end, if any line was bad, a
`UserError` ("N of M lines were bad") makes the CLI exit 2. Blank lines are skipped (no output).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

import orjson
from pydantic import BaseModel, ValidationError

from bot.errors import UserError
from bot.policy import evaluate
from bot.policy.simulation import SimulationDocument


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "document"
    if first["type"] == "json_invalid":
        return (
            f"invalid JSON: {first['ctx'].get('error', first['msg']) if first.get('ctx') else first['msg']}"
        )
    if first["type"] == "extra_forbidden":
        return f"unknown field {where!r}"
    if first["type"] == "missing":
        return f"missing field {where!r}"
    return f"{where}: {first['msg']}"


def _parse(text: str) -> SimulationDocument:
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise UserError(f"invalid JSON: {error}") from None
    if not isinstance(raw, dict):
        raise UserError("a simulation document must be a JSON object")
    try:
        return SimulationDocument.model_validate(raw)
    except ValidationError as error:
        raise UserError(_describe(error)) from None


def _result_line(text: str) -> str:
    """`json.dumps(result.public_json(), separators=(",", ":"))`, built from the JSON text of each check
    and matched statement, cached per instance: the engine shares those instances across results."""
    # The output has no misses: evaluate without them (explain=False; every printed field is the same).
    result = evaluate(_parse(text), explain=False)
    checks = ",".join(_fragment(check) for check in result.failing_checks)
    matched = ",".join(_fragment(statement) for statement in result.matched)
    return f'{{"decision":{json.dumps(result.decision)},"failing_checks":[{checks}],"matched":[{matched}]}}'


# id → (the instance, kept alive so that its id cannot be reused, and its compact JSON).
_FRAGMENTS: dict[int, tuple[BaseModel, str]] = {}


def _fragment(model: BaseModel) -> str:
    found = _FRAGMENTS.get(id(model))
    if found is not None and found[0] is model:
        return found[1]
    text = json.dumps(model.model_dump(mode="json", exclude_none=True), separators=(",", ":"))
    if len(_FRAGMENTS) >= 65_536:
        _FRAGMENTS.clear()
    _FRAGMENTS[id(model)] = (model, text)
    return text


def _read(file: str, stdin: TextIO) -> str:
    if file == "-":
        return stdin.read()
    try:
        return Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read {file}: {error}") from None


def run(file: str, stdin: TextIO, stdout: TextIO, *, jsonl: bool) -> None:
    if not jsonl:
        result = evaluate(_parse(_read(file, stdin)), explain=False)
        stdout.write(json.dumps(result.public_json(), indent=2) + "\n")
        return
    source = stdin if file == "-" else _read(file, stdin).splitlines()
    # Everything imported so far (pydantic schemas, modules) lives as long as the process: keep the
    # garbage collector from walking it again and again during a long batch.
    gc.freeze()
    # Reference counting frees almost everything a line allocates; the cycle collector would walk every
    # object a line allocates (thousands: the parsed JSON, its validated copy, compiled policies) to
    # find the few cycles: with lines that each bring new policies, that doubled the cost of a line. It
    # runs between lines instead, every COLLECT_EVERY lines, which bounds what uncollected cycles hold.
    enabled = gc.isenabled()
    gc.disable()
    try:
        bad, total = _batch(source, stdout)
    finally:
        # Re-enabled as is, the collector would at once walk everything the batch left (the engine's
        # caches): freeze that too, so a caller that goes on (a test) does not pay for it.
        gc.freeze()
        if enabled:
            gc.enable()
    stdout.flush()
    if bad:
        raise UserError(f"{bad} of {total} lines were bad")


COLLECT_EVERY = 20_000


def _batch(source: Iterable[str], stdout: TextIO) -> tuple[int, int]:
    """(bad lines, lines) after answering every line of `source`."""
    bad = total = 0
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        total += 1
        if total % COLLECT_EVERY == 0:
            gc.collect()
        try:
            stdout.write(_result_line(line) + "\n")
        except UserError as error:
            bad += 1
            stdout.write(json.dumps({"error": f"line {number}: {error}"}) + "\n")
    return bad, total
