"""Both builds of the engine are tested: `make` compiles it with mypyc where a C compiler is at hand (see
setup.py), and an install without one runs its Python sources. The suite runs whichever this checkout
imports; this file runs the engine tests again on the sources when that is the compiled build."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import bot.policy.policies

ROOT = Path(__file__).resolve().parents[2]
EXPECT = "KMS_WHY_EXPECT_ENGINE"


def _build() -> str:
    return "compiled" if str(bot.policy.policies.__file__).endswith(".so") else "pure"


def test_the_engine_build_is_the_one_expected() -> None:
    expected = os.environ.get(EXPECT)
    if expected is None:
        pytest.skip(f"{EXPECT} is not set: any build will do")
    assert _build() == expected


def test_the_pure_python_engine_passes_the_engine_tests() -> None:
    if _build() == "pure":
        pytest.skip("the engine is not compiled here: the whole suite already runs its sources")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "pure_python.py"),
            "-m",
            "pytest",
            "-q",
            "-rA",
            "-p",
            "no:cacheprovider",
            str(ROOT / "tests" / "policy"),
            "-k",
            "not test_the_pure_python_engine_passes_the_engine_tests",
        ],
        cwd=ROOT,
        env={**os.environ, EXPECT: "pure"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = done.stdout[-3000:]
    assert done.returncode == 0, report
    assert "PASSED tests/policy/test_pure_python_engine.py::test_the_engine_build_is_the_one_expected" in (
        done.stdout
    ), report
