"""`kms-why web`, `socket` and `worker` refuse to start without what they need: one line, exit 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

KMS_WHY = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kms-why"


def _run(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KMS_WHY), *args],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["worker"], {}, "SLACK_BOT_TOKEN"),
        (["web"], {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        (["socket"], {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN"),
        (["web"], {"SLACK_BOT_TOKEN": "x", "SLACK_SIGNING_SECRET": "y", "PORT": "http"}, "PORT"),
        (
            ["worker"],
            {"SLACK_BOT_TOKEN": "x", "KMS_WHY_REDELIVER_IDLE_SECONDS": "-1"},
            "KMS_WHY_REDELIVER_IDLE",
        ),
        (["worker"], {"SLACK_BOT_TOKEN": "x", "REDIS_URL": "http://nope"}, "REDIS_URL"),
    ],
)
def test_missing_or_bad_settings_give_one_line_and_exit_2(
    args: list[str], env: dict[str, str], named: str, tmp_path: Path
) -> None:
    done = _run(args, env, tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and "Traceback" not in done.stderr
