"""Canonical policy text and hash: the approval step's staleness check relies on these."""

from __future__ import annotations

import hashlib

from bot.policy_text import canonical_json, policy_sha256


def test_canonical_json_sorts_keys_and_drops_whitespace() -> None:
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Allow"}]}
    assert canonical_json(policy) == '{"Statement":[{"Effect":"Allow","Sid":"A"}],"Version":"2012-10-17"}'


def test_same_document_in_another_key_order_has_the_same_hash() -> None:
    one = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*"}]}
    two = {"Statement": [{"Action": "kms:*", "Effect": "Allow"}], "Version": "2012-10-17"}
    assert policy_sha256(one) == policy_sha256(two)


def test_statement_order_changes_the_hash() -> None:
    a, b = {"Sid": "A"}, {"Sid": "B"}
    assert policy_sha256({"Statement": [a, b]}) != policy_sha256({"Statement": [b, a]})


def test_hash_is_sha256_of_the_utf8_canonical_text() -> None:
    policy = {"Sid": "名前"}
    assert policy_sha256(policy) == hashlib.sha256('{"Sid":"名前"}'.encode()).hexdigest()
