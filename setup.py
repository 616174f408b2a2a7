"""Build hook: compile the policy engine with mypyc when a C compiler is at hand (pyproject.toml holds
everything else).

The engine is plain, strictly typed Python and runs as is; compiled, it evaluates about twice as fast
(`benchmarks/engine.py`). Compilation is skipped, and the pure-Python engine installed, when there is no C
compiler or no Python headers (the slim container image, say) or when KMS_WHY_COMPILE=0. The modules that
define pydantic models (`simulation`, `document`) stay interpreted: mypyc does not compile pydantic's
metaclass.

An editable install (`make`) builds the extensions in place, next to the sources; `make` rebuilds them
when an engine source changes, and `tests/policy/test_compiled_engine.py` fails if one is stale.
"""

from __future__ import annotations

import os
import shutil
import sysconfig
from pathlib import Path

from setuptools import setup

ENGINE = Path("bot/policy")
INTERPRETED = {"__init__.py", "simulation.py", "document.py"}
COMPILED = sorted(str(path) for path in ENGINE.glob("*.py") if path.name not in INTERPRETED)


def _can_compile() -> bool:
    if os.environ.get("KMS_WHY_COMPILE", "1") == "0":
        return False
    compiler = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    return shutil.which(compiler) is not None and headers.exists()


def _extensions() -> list[object]:
    if not _can_compile():
        print("kms-why: no C compiler or Python headers (or KMS_WHY_COMPILE=0): pure-Python engine")
        return []
    from mypyc.build import mypycify

    return list(mypycify(COMPILED, opt_level="3", group_name="bot.policy._native"))


setup(ext_modules=_extensions())
