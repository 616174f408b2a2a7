"""How a raw paste becomes searchable text (wrappers of kms-evaluation.md §3: wrapped, boxed, escaped)."""

from __future__ import annotations

import json

from bot.parse.normalize import normalize

ARN = "arn:aws:kms:us-east-1:123456789012:key/12345678-90ab-cdef-1234-567890abcdef"


def test_json_and_doubly_escaped_strings_are_undone() -> None:
    text = 'User: "arn:aws:iam::1:user/u"\nnext'
    assert normalize(json.dumps(text)).strip('"\n') == text
    assert normalize(json.dumps(json.dumps(text))).strip('"\n') == text


def test_terraform_box_and_pipe_prefixes_are_removed() -> None:
    pasted = "╷\n│ Error: reading KMS Key\n│ \n│   with aws_kms_key.app,\n╵"
    assert normalize(pasted).split("\n")[:4] == ["", "Error: reading KMS Key", "", "with aws_kms_key.app,"]
    assert normalize("- | failed to decrypt\n  | sops data key").split("\n")[:2] == [
        "failed to decrypt",
        "sops data key",
    ]


def test_a_line_cut_inside_an_arn_is_joined_without_a_space() -> None:
    pasted = f"on resource: {ARN[:30]}\n{ARN[30:]} because"
    assert f"on resource: {ARN} because" in normalize(pasted)


def test_a_line_cut_inside_a_key_id_is_joined() -> None:
    pasted = f"on resource: {ARN[:-14]}\n{ARN[-14:]} because"
    assert ARN in normalize(pasted)


def test_word_wrapped_lines_keep_their_line_break() -> None:
    pasted = (
        "Error: creating Secrets Manager Secret (db): operation error Secrets Manager: CreateSecret,\nhttps"
    )
    assert normalize(pasted).startswith("Error: creating Secrets Manager Secret (db)")
    assert "CreateSecret,\nhttps" in normalize(pasted)


def test_terminal_hard_wrap_at_a_fixed_width_is_undone() -> None:
    message = (
        "User: arn:aws:iam::1:user/u is not authorized to perform: kms:Decrypt on resource: "
        + ARN
        + " x" * 40
    )
    pasted = "\n".join(message[i : i + 80] for i in range(0, len(message), 80))
    assert normalize(pasted).strip() == message.strip()


def test_a_box_edge_with_one_space_before_it_marks_a_cut_word() -> None:
    pasted = "InvalidRequestException: User not authori │\n│ zed to perform kms:CreateGrant operatio"
    assert "User not authorized to perform kms:CreateGrant" in normalize(pasted)
