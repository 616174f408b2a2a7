"""The paste corpus (tests/parse/corpus/*.json): every paste parses to exactly its expected JSON.

Each case is a paste (a string, or a list of lines joined with newlines) in one of the shapes of
kms-evaluation.md §3 and interfaces.md (`kms-why parse` output), or noise that must stay irrelevant.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.parse import parse

CORPUS = Path(__file__).parent / "corpus"


def _cases() -> list[Any]:
    cases = []
    for path in sorted(CORPUS.glob("*.json")):
        for case in json.loads(path.read_text()):
            paste = case["paste"]
            text = "\n".join(paste) if isinstance(paste, list) else paste
            cases.append(pytest.param(text, case["expected"], id=f"{path.stem}/{case['name']}"))
    return cases


CASES = _cases()


def test_the_corpus_is_large_enough() -> None:
    relevant = [c for c in CASES if c.values[1]["relevant"]]
    assert len(CASES) >= 120
    assert len(CASES) - len(relevant) >= 20


@pytest.mark.parametrize(("paste", "expected"), CASES)
def test_paste_parses_to_expected_json(paste: str, expected: dict[str, Any]) -> None:
    assert parse(paste).public_json() == expected
