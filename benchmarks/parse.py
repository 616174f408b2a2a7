"""How fast `bot.parse.parse` reads pastes: pastes per second on typical pastes, and one 1 MB paste.

Run: `.venv/bin/python benchmarks/parse.py`. Goals (issue 3): at least 5,000 typical pastes per second on
one core, and a 1 MB paste in well under 200 ms. Typical pastes are the project's own corpus
(tests/parse/corpus, relevant and noise alike), so the mix matches what the tests check.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.parse import parse  # noqa: E402

CORPUS = ROOT / "tests" / "parse" / "corpus"
ROUNDS = 40


def _pastes() -> list[str]:
    pastes = []
    for path in sorted(CORPUS.glob("*.json")):
        for case in json.loads(path.read_text()):
            paste = case["paste"]
            pastes.append("\n".join(paste) if isinstance(paste, list) else paste)
    return pastes


def _big_paste(pastes: list[str], size: int = 1_000_000) -> str:
    """About 1 MB of log: the corpus repeated, with chatter between, as a long CI log pasted whole."""
    chunks: list[str] = []
    total = 0
    index = 0
    while total < size:
        chunk = pastes[index % len(pastes)] + "\n2024-05-02T10:11:12Z INFO worker heartbeat ok\n"
        chunks.append(chunk)
        total += len(chunk)
        index += 1
    return "".join(chunks)[:size]


def _adversarial(size: int = 1_000_000) -> dict[str, str]:
    """Inputs built to provoke regex backtracking: long runs of near-misses of every anchor."""
    return {
        "repeated anchors": ("User: x is not authorized to perform: kms:" * (size // 42))[:size],
        "one long token": ("arn:aws:kms:" + "a" * size)[:size],
        "escapes": ('\\\\\\"' * (size // 4))[:size],
        "box lines": ("│ " + "x" * 78 + "\n") * (size // 81),
        "code-like words": ("KMS.AccessDeniedException " * (size // 26))[:size],
        "open placeholders": (("arn:aws:kms:<" + "x" * 39 + " ") * (size // 53))[:size],
    }


def _time(text: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        parse(text)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    pastes = _pastes()
    for paste in pastes:  # warm up the regex caches
        parse(paste)
    start = time.perf_counter()
    for _ in range(ROUNDS):
        for paste in pastes:
            parse(paste)
    elapsed = time.perf_counter() - start
    count = ROUNDS * len(pastes)
    mean_size = sum(map(len, pastes)) / len(pastes)
    print(f"typical pastes: {count / elapsed:,.0f} pastes/s ({count} pastes, mean {mean_size:.0f} chars)")
    big = _big_paste(pastes)
    result = parse(big)
    print(f"1 MB log paste: {_time(big) * 1000:.1f} ms ({len(result.denials)} distinct denials)")
    for name, text in _adversarial().items():
        print(f"1 MB {name}: {_time(text, repeat=1) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
