"""Helpers for the chart tests: find the pinned helm, merge values, pick manifests out of its output."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Manifest = dict[str, Any]
Render = Callable[..., list[Manifest]]
Attempt = Callable[..., subprocess.CompletedProcess[str]]

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "kms-why"
HELM = REPO / ".ci" / "tools" / "bin" / "helm"

# The smallest values that install: secrets from outside the chart, an external Redis.
BASE_VALUES: dict[str, Any] = {
    "slack": {"mode": "http", "existingSecret": "kms-why-slack"},
    "redis": {"url": "redis://redis.data.svc:6379/0"},
}


def helm_binary() -> Path:
    if not HELM.is_file():
        pytest.fail(
            f"helm is not installed at {HELM.relative_to(REPO)}: run `.ci/deploy-checks --tools-only` "
            "(or `make deploy-check`) once; it downloads a pinned, checksummed helm into .ci/tools/",
            pytrace=False,
        )
    return HELM


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        both_maps = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merge(out[key], value) if both_maps else value
    return out


def one(manifests: list[Manifest], kind: str, name_suffix: str = "") -> Manifest:
    found = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"].endswith(name_suffix)]
    names = [m["metadata"]["name"] for m in found]
    assert len(found) == 1, f"expected one {kind} named *{name_suffix}, found {names}"
    return found[0]


def kinds(manifests: list[Manifest]) -> list[str]:
    return sorted(m["kind"] for m in manifests)


def containers(manifest: Manifest) -> list[dict[str, Any]]:
    spec = manifest["spec"]["template"]["spec"] if manifest["kind"] == "Deployment" else manifest["spec"]
    return list(spec["containers"])


def env_names(container: dict[str, Any]) -> set[str]:
    return {e["name"] for e in container.get("env", [])}
