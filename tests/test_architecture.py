"""The rules the arrows keep (architecture.md): the pure core does no I/O, bot/ never imports handlers/."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PURE = ["bot/policy", "bot/parse", "bot/diagnosis", "bot/patch.py", "bot/approval.py", "bot/snapshot.py"]
IMPURE_MODULES = ("boto3", "botocore", "redis", "slack_sdk", "slack_bolt", "moto", "requests", "socket")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _files(entry: str) -> list[Path]:
    path = ROOT / entry
    if path.is_file():
        return [path]
    return sorted(path.rglob("*.py")) if path.is_dir() else []


def test_pure_core_imports_no_io_library() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for entry in PURE
        for path in _files(entry)
        for name in _imports(path)
        if name.split(".")[0] in IMPURE_MODULES
    ]
    assert offenders == []


def test_bot_never_imports_handlers_except_the_cli() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if path.name != "cli.py" or path.parent.name != "bot"
        if any(name.split(".")[0] == "handlers" for name in _imports(path))
    ]
    assert offenders == []


def test_handlers_never_call_aws() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "handlers").rglob("*.py"))
        if any(name.split(".")[0] in ("boto3", "botocore", "bot.aws") or name.startswith("bot.aws")
               for name in _imports(path))
    ]
    assert offenders == []
