"""Run a script or module with the policy engine's Python sources, not its compiled extensions.

`setup.py` compiles the engine with mypyc where it can, and Python prefers an extension module to the
source beside it. This wrapper hides extension modules from the import system before anything is
imported, so the pure-Python engine (what an install without a C compiler runs) can be measured and
tested from the same checkout:

    python benchmarks/pure_python.py benchmarks/engine.py --count 2000
    python benchmarks/pure_python.py -m pytest tests/policy

Only the engine's own directory is affected: every other package (pydantic-core, orjson) imports its
extensions as always.
"""

from __future__ import annotations

import importlib.machinery as machinery
import runpy
import sys


def sources_only() -> None:
    """From now on the engine's package directory (`bot/policy`) loads from .py files (or their cached
    bytecode), never from .so extensions; every other directory loads as before."""
    source_finder = machinery.FileFinder.path_hook(
        (machinery.SourceFileLoader, machinery.SOURCE_SUFFIXES),
        (machinery.SourcelessFileLoader, machinery.BYTECODE_SUFFIXES),
    )

    def engine_sources(path: str) -> object:
        if not path.replace("\\", "/").rstrip("/").endswith("bot/policy"):
            raise ImportError("not the engine's directory")  # the next hook takes it
        return source_finder(path)

    sys.path_hooks.insert(0, engine_sources)
    sys.path_importer_cache.clear()


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit("usage: pure_python.py SCRIPT [ARGS...] | -m MODULE [ARGS...]")
    sources_only()
    if sys.argv[1] == "-m":
        module, sys.argv = sys.argv[2], sys.argv[2:]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    else:
        script, sys.argv = sys.argv[1], sys.argv[1:]
        runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
