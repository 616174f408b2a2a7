"""`kms-why simulate` through the installed console script (interfaces.md, "Simulation document")."""

from __future__ import annotations

import gc
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.errors import UserError

from .helpers import KEY, SESSION, allow, policy, root_delegation

CLI = str(Path(sys.executable).with_name("kms-why"))


def simulate(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "simulate", *args], input=stdin, capture_output=True, text=True, timeout=60)


def document(**sets: Any) -> dict[str, Any]:
    return {"request": {"principal": SESSION, "action": "kms:Decrypt", "resource": KEY}, **sets}


def test_simulate_prints_the_documented_result(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    identity = policy(allow(Sid="AllowKms"))
    path.write_text(json.dumps(document(identity_policies=[identity], key_policy=policy())))
    done = simulate(str(path), stdin="")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result == {
        "decision": "implicit_deny",
        "failing_checks": [
            {
                "policy_type": "key_policy",
                "kind": "no_allow",
                "explain": "no resource-based policy allows the action",
            }
        ],
        "matched": [
            {"policy_type": "identity", "effect": "Allow", "policy_index": 0, "statement": "AllowKms"}
        ],
    }


def test_simulate_reads_stdin_with_dash() -> None:
    done = simulate(
        "-", stdin=json.dumps(document(key_policy=root_delegation(), identity_policies=[policy(allow())]))
    )
    assert done.returncode == 0
    assert json.loads(done.stdout)["decision"] == "allow"


def test_bad_inputs_exit_2_with_one_line_and_no_traceback() -> None:
    bad_operator = document(
        key_policy=policy(allow(Principal="*", Sid="X", Condition={"StringEqualz": {"a": "b"}}))
    )
    no_effect = document(identity_policies=[policy({"Action": "kms:*", "Resource": "*"})])
    cases = {
        "{not json": "invalid JSON",
        json.dumps(
            bad_operator
        ): "key_policy statement 0 (Sid 'X'): unknown condition operator 'StringEqualz'",
        json.dumps(no_effect): "identity_policies[0] statement 0: statement has no Effect",
        json.dumps({**document(), "surprise": 1}): "unknown field 'surprise'",
        json.dumps(document(key_policy=[1, 2])): "key_policy",
        json.dumps({"request": {"principal": SESSION}}): "missing field 'request.action'",
    }
    for stdin, expected in cases.items():
        done = simulate("-", stdin=stdin)
        assert done.returncode == 2, (stdin, done.stderr)
        assert "Traceback" not in done.stderr
        assert expected in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


def test_missing_file_exits_2() -> None:
    done = simulate("/nonexistent/doc.json", stdin="")
    assert done.returncode == 2
    assert "cannot read" in done.stderr


def test_jsonl_keeps_order_and_reports_bad_lines() -> None:
    good_allow = json.dumps(document(key_policy=root_delegation(), identity_policies=[policy(allow())]))
    good_deny = json.dumps(document(key_policy=policy()))
    stdin = "\n".join([good_allow, "{broken", "", good_deny]) + "\n"
    done = simulate("--jsonl", stdin=stdin)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line.get("decision") for line in lines] == ["allow", None, "implicit_deny"]
    assert lines[1]["error"].startswith("line 2: invalid JSON")
    assert "1 of 3 lines were bad" in done.stderr


def test_jsonl_all_good_exits_0() -> None:
    good = json.dumps(document(key_policy=root_delegation(), identity_policies=[policy(allow())]))
    done = simulate("--jsonl", stdin=f"{good}\n{good}\n")
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 2


def test_jsonl_collects_cycles_between_lines_and_leaves_the_collector_as_it_found_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch turns automatic collection off and collects every COLLECT_EVERY lines; the caller gets
    the collector back enabled (or still disabled), and bad lines still count as bad."""
    from bot.commands import simulate as command

    collections: list[int] = []
    monkeypatch.setattr(command, "COLLECT_EVERY", 2)
    monkeypatch.setattr(command.gc, "collect", lambda *args: collections.append(len(args)) or 0)
    good = json.dumps(document(key_policy=root_delegation(), identity_policies=[policy(allow())]))
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        out = io.StringIO()
        with pytest.raises(UserError, match="1 of 5 lines were bad"):
            command.run("-", io.StringIO("\n".join([good, good, "{", good, good]) + "\n"), out, jsonl=True)
        assert gc.isenabled() is enabled
        assert len(out.getvalue().splitlines()) == 5
    gc.enable()
    assert len(collections) == 4  # lines 2 and 4 of each batch
