"""The Dockerfile's promises that hadolint cannot check: one image, every process, non-root, read-only."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text()


def _instructions(name: str) -> list[str]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    return [
        line.split(None, 1)[1].strip() for line in joined.splitlines() if line.upper().startswith(name + " ")
    ]


def test_the_entrypoint_is_the_console_script_in_exec_form_and_cmd_picks_the_process() -> None:
    (entrypoint,) = _instructions("ENTRYPOINT")
    assert json.loads(entrypoint) == ["kms-why"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert "kms-why" in scripts
    (cmd,) = _instructions("CMD")
    assert json.loads(cmd)[0] in {"web", "socket", "worker"}


def test_the_runtime_runs_as_the_numeric_user_the_chart_expects() -> None:
    users = _instructions("USER")
    assert users[-1] == "10001:10001"
    values = (REPO / "helm" / "kms-why" / "values.yaml").read_text()
    assert "runAsUser: 10001" in values


def test_the_base_image_is_a_build_argument_for_both_stages() -> None:
    assert re.search(r"^ARG PYTHON_IMAGE=\S+", DOCKERFILE, re.M)
    froms = _instructions("FROM")
    assert len(froms) == 2 and all(f.startswith("${PYTHON_IMAGE} AS ") for f in froms)


def test_nothing_is_written_outside_tmp_at_run_time() -> None:
    (env,) = [e for e in _instructions("ENV") if "HOME" in e]
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "HOME=/tmp" in env
    assert "--no-cache-dir" in DOCKERFILE


def test_the_build_context_holds_only_what_the_image_installs() -> None:
    text = (REPO / ".dockerignore").read_text()
    ignore = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert ignore[0] == "*"  # deny everything (.env above all), then allow what the image needs
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    assert {p.rstrip("*") for p in packages["include"]} <= allowed
    copied = {c.split()[0] for c in _instructions("COPY") if not c.startswith("--from")}
    assert copied <= allowed
