"""`kms-why parse` as users run it (interfaces.md, `kms-why parse` output): a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

KMS_WHY = Path(sys.executable).with_name("kms-why")
PASTE = (
    "An error occurred (AccessDeniedException) when calling the Decrypt operation: User: "
    "arn:aws:iam::123456789012:role/MyRole is not authorized to perform: kms:Decrypt on resource: "
    "arn:aws:kms:ap-northeast-1:123456789012:key/abc-123"
)


def _run(args: list[str], stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(KMS_WHY), "parse", *args], input=stdin, capture_output=True, timeout=60)


def test_one_paste_prints_one_json_object() -> None:
    done = _run([], PASTE.encode())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "relevant": True,
        "denials": [
            {
                "action": "kms:Decrypt",
                "principal_arn": "arn:aws:iam::123456789012:role/MyRole",
                "resource_arn": "arn:aws:kms:ap-northeast-1:123456789012:key/abc-123",
                "key_id": "abc-123",
                "region": "ap-northeast-1",
                "account": "123456789012",
                "denial_kind": "unspecified",
                "service_context": "kms",
            }
        ],
    }


def test_chatter_is_not_relevant() -> None:
    done = _run([], b"anyone around to review my KMS key policy PR?\n")
    assert done.returncode == 0
    assert json.loads(done.stdout) == {"relevant": False, "denials": []}


def test_jsonl_answers_each_line_in_order() -> None:
    lines = [json.dumps(PASTE), json.dumps("lunch?"), json.dumps("Access to KMS is not allowed")]
    done = _run(["--jsonl"], ("\n".join(lines) + "\n").encode())
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [r["relevant"] for r in results] == [True, False, True]
    assert results[2]["denials"][0]["service_context"] == "secretsmanager"


def test_jsonl_bad_lines_get_an_error_object_and_exit_2() -> None:
    done = _run(["--jsonl"], b'"Access to KMS is not allowed"\n{"not": "a string"}\nnot json\n"lunch?"\n')
    assert done.returncode == 2
    results = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert len(results) == 4
    assert results[0]["relevant"] is True
    assert "error" in results[1] and "line 2" in results[1]["error"]
    assert "error" in results[2] and "line 3" in results[2]["error"]
    assert results[3] == {"relevant": False, "denials": []}
    assert done.stderr.decode().count("\n") == 1
    assert b"Traceback" not in done.stderr


def test_invalid_utf8_does_not_crash() -> None:
    done = _run(
        [], b"\xff\xfe User: arn:aws:iam::1:user/u is not authorized to perform: kms:Decrypt \xc3\x28"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["denials"][0]["action"] == "kms:Decrypt"
    done = _run(["--jsonl"], b'"ok"\n\xff\xff\n')
    assert done.returncode == 2
    assert b"Traceback" not in done.stderr


def test_empty_stdin() -> None:
    assert json.loads(_run([], b"").stdout) == {"relevant": False, "denials": []}
    done = _run(["--jsonl"], b"")
    assert done.returncode == 0
    assert done.stdout == b""
