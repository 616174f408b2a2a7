"""`kms-why demo --json` and `kms-why explain --json` as a user runs them: real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.demo.scenarios import SCENARIOS, seed
from bot.demo.world import World

CLI = [sys.executable, "-m", "bot.cli"]
ROOT = Path(__file__).resolve().parents[2]


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KMS_WHY_"))}
    env.update(extra or {})
    return env


def test_demo_json_prints_one_diagnosis_per_scenario() -> None:
    done = subprocess.run(
        [*CLI, "demo", "--json"], capture_output=True, text=True, timeout=120, cwd=ROOT, env=_env()
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(SCENARIOS)
    answers = [json.loads(line) for line in lines]
    assert [a["scenario"] for a in answers] == [s.name for s in SCENARIOS]
    assert [a["cause"]["catalogue"] for a in answers] == [s.rows[0] for s in SCENARIOS]
    assert {2, 3, 4, 7, 10, 13, 16, 33, 30} <= {a["cause"]["catalogue"] for a in answers}
    first = answers[0]
    assert first["denial"]["principal_arn"].endswith("assumed-role/MyRole/alice")
    assert first["fixes"][0]["kind"] == "key_policy_patch" and first["fixes"][0]["verified"] is True


def test_demo_text_is_plain_when_piped() -> None:
    done = subprocess.run([*CLI, "demo"], capture_output=True, text=True, timeout=120, cwd=ROOT, env=_env())
    assert done.returncode == 0, done.stderr
    assert "\033[" not in done.stdout
    assert done.stdout.count("kms-why answers in the thread") == len(SCENARIOS)
    assert "key policy" in done.stdout and "cross-account" in done.stdout.lower()


def test_demo_is_coloured_on_a_terminal() -> None:
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen([*CLI, "demo"], stdout=follower, stderr=subprocess.PIPE, cwd=ROOT, env=_env())
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the demo exits
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert process.wait(timeout=120) == 0
    os.close(leader)
    output = b"".join(chunks).decode()
    assert "\033[1;35m━━ 1/" in output and "\033[32m✔\033[0m" in output


@pytest.fixture
def seeded_env(world: World) -> dict[str, str]:
    pairs, org_reader = seed(world)
    env = _env({**world.environ(), "KMS_WHY_ORG_ROLE_ARN": org_reader})
    env["PASTE"] = dict((s.name, p) for s, p in pairs)["missing-root-delegation"]
    return env


def test_explain_json_against_the_emulator(seeded_env: dict[str, str]) -> None:
    paste = seeded_env.pop("PASTE")
    done = subprocess.run(
        [*CLI, "explain", "--json", paste],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=seeded_env,
    )
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    data = json.loads(line)
    assert data["cause"] == {
        "catalogue": 2,
        "code": "key_policy_missing_principal_no_root_delegation",
        "summary": data["cause"]["summary"],
    }
    assert data["verdict"] == "implicit_deny"
    assert {k: data["locks"][1][k] for k in ("layer", "allows")} == {"layer": "key_policy", "allows": False}
    assert data["aws_calls"] > 0


def test_explain_reads_stdin_and_prints_text(seeded_env: dict[str, str]) -> None:
    paste = seeded_env.pop("PASTE")
    done = subprocess.run(
        [*CLI, "explain"], input=paste, capture_output=True, text=True, timeout=60, cwd=ROOT, env=seeded_env
    )
    assert done.returncode == 0, done.stderr
    assert "key_policy_missing_principal_no_root_delegation" in done.stdout and "Fix 1" in done.stdout


@pytest.mark.parametrize(
    "text",
    [
        "lunch at 12?",
        "An error occurred (AccessDenied) when calling the GetObject operation: Access Denied",
        "",
    ],
)
def test_explain_irrelevant_text_is_one_line_and_exit_2(text: str) -> None:
    done = subprocess.run(
        [*CLI, "explain", "--json"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=_env(),
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "kms-why: error:" in done.stderr
