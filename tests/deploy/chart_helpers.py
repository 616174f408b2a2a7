"""Helpers for the chart tests: pick manifests out of a `helm template` output."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

Manifest = dict[str, Any]
Render = Callable[..., list[Manifest]]
Attempt = Callable[..., subprocess.CompletedProcess[str]]


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
