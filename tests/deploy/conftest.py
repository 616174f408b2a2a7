"""Rendering the Helm chart with the pinned helm binary that `.ci/deploy-checks` installs."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_helpers import BASE_VALUES, CHART, Attempt, Manifest, Render, helm_binary, merge


@pytest.fixture(scope="session")
def values_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("values")


@pytest.fixture(scope="session")
def helm_template(values_dir: Path) -> Attempt:
    """`helm template` with BASE_VALUES merged with `values` (base=False: `values` alone)."""
    counter = iter(range(1_000_000))

    def attempt(
        values: dict[str, Any] | None = None, *, base: bool = True, release: str = "kw", show_only: str = ""
    ) -> subprocess.CompletedProcess[str]:
        merged = merge(BASE_VALUES, values or {}) if base else (values or {})
        path = values_dir / f"values-{next(counter)}.yaml"
        path.write_text(yaml.safe_dump(merged))
        command = [str(helm_binary()), "template", release, str(CHART), "--namespace", "bots"]
        command += ["--values", str(path)]
        if show_only:
            command += ["--show-only", show_only]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    return attempt


@pytest.fixture(scope="session")
def render(helm_template: Attempt) -> Render:
    """The manifests `helm template` renders, parsed; a failed render fails the test with helm's words."""

    def rendered(values: dict[str, Any] | None = None, **options: Any) -> list[Manifest]:
        done = helm_template(values, **options)
        if done.returncode != 0:
            pytest.fail(f"helm template failed: {done.stderr.strip()}", pytrace=False)
        return [doc for doc in yaml.safe_load_all(done.stdout) if doc]

    return rendered
