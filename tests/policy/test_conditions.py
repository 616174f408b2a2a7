"""Every condition operator, table-driven (kms-evaluation.md §1.4 and §2.17)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy.conditions import compile_conditions
from bot.policy.context import build_context
from bot.policy.principals import classify_caller

from .helpers import SESSION

ROLE_ARN = "arn:aws:iam::111122223333:role/App"


def holds(operator: str, key: str, values: Any, context: dict[str, Any], *, variables: bool = True) -> bool:
    listed = values if isinstance(values, list) else [values]
    block = {operator: {key: tuple(str(v) if not isinstance(v, bool) else str(v).lower() for v in listed)}}
    entries = compile_conditions(block, variables)
    built = build_context(context, classify_caller(SESSION), "111122223333", frozenset())
    return all(entry.evaluate(built) for entry in entries)


CASES: list[tuple[str, str, str, Any, dict[str, Any], bool]] = [
    # (section, operator, key, policy values, context, expected)
    ("1.4", "StringEquals", "k", "a", {"k": "a"}, True),
    ("1.4", "StringEquals", "k", "a", {"k": "A"}, False),
    ("1.4 missing key is false", "StringEquals", "k", "a", {}, False),
    ("2.17 values ORed", "StringEquals", "k", ["a", "b"], {"k": "b"}, True),
    ("2.17 no wildcard in StringEquals", "StringEquals", "k", "a*", {"k": "abc"}, False),
    ("1.4", "StringNotEquals", "k", "a", {"k": "b"}, True),
    ("1.4", "StringNotEquals", "k", ["a", "b"], {"k": "b"}, False),
    ("1.4 negated missing is true", "StringNotEquals", "k", "a", {}, True),
    ("1.4", "StringEqualsIgnoreCase", "k", "AbC", {"k": "aBc"}, True),
    ("1.4", "StringEqualsIgnoreCase", "k", "abc", {"k": "abd"}, False),
    ("1.4", "StringNotEqualsIgnoreCase", "k", "abc", {"k": "ABC"}, False),
    ("1.4 negated missing", "StringNotEqualsIgnoreCase", "k", "abc", {}, True),
    (
        "2.17",
        "StringLike",
        "kms:ViaService",
        "s3.*.amazonaws.com",
        {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
        True,
    ),
    (
        "2.17",
        "StringLike",
        "kms:ViaService",
        "s3.*.amazonaws.com",
        {"kms:ViaService": "ec2.us-east-1.amazonaws.com"},
        False,
    ),
    ("2.17", "StringLike", "k", "a?c", {"k": "abc"}, True),
    ("2.17", "StringLike", "k", "a?c", {"k": "abbc"}, False),
    ("2.17 StringLike is case-sensitive", "StringLike", "k", "A*", {"k": "abc"}, False),
    ("1.4", "StringNotLike", "k", "a*", {"k": "b"}, True),
    ("1.4", "StringNotLike", "k", "a*", {"k": "ab"}, False),
    ("1.4 negated missing", "StringNotLike", "k", "a*", {}, True),
    ("2.17", "NumericEquals", "n", "10", {"n": "10"}, True),
    ("2.17", "NumericEquals", "n", "10", {"n": 10.0}, True),
    ("2.17", "NumericEquals", "n", "10", {"n": "11"}, False),
    ("2.17 unparsable request value", "NumericEquals", "n", "10", {"n": "ten"}, False),
    ("1.4", "NumericNotEquals", "n", "10", {"n": "11"}, True),
    ("1.4 negated missing", "NumericNotEquals", "n", "10", {}, True),
    ("2.17", "NumericLessThan", "n", "10", {"n": "9"}, True),
    ("2.17", "NumericLessThan", "n", "10", {"n": "10"}, False),
    ("2.17", "NumericLessThanEquals", "n", "10", {"n": "10"}, True),
    ("2.17", "NumericGreaterThan", "n", "10", {"n": "11"}, True),
    ("2.17", "NumericGreaterThan", "n", "10", {"n": "10"}, False),
    ("2.17", "NumericGreaterThanEquals", "n", "10", {"n": "10"}, True),
    ("1.4 missing", "NumericGreaterThanEquals", "n", "10", {}, False),
    ("2.17 ISO vs epoch", "DateEquals", "t", "2024-01-01T00:00:00Z", {"t": "1704067200"}, True),
    ("2.17 offset", "DateEquals", "t", "2024-01-01T09:00:00+09:00", {"t": "2024-01-01T00:00:00Z"}, True),
    ("1.4", "DateNotEquals", "t", "2024-01-01T00:00:00Z", {"t": "2024-01-02"}, True),
    (
        "2.17",
        "DateLessThan",
        "aws:CurrentTime",
        "2024-01-01T00:00:00Z",
        {"aws:CurrentTime": "2023-12-31T23:59:59Z"},
        True,
    ),
    ("2.17", "DateLessThan", "t", "2024-01-01T00:00:00Z", {"t": "2024-01-01T00:00:00Z"}, False),
    ("2.17", "DateLessThanEquals", "t", "2024-01-01", {"t": "2024-01-01T00:00:00Z"}, True),
    ("2.17 epoch", "DateGreaterThan", "t", "1704067200", {"t": "2024-06-01T00:00:00Z"}, True),
    ("2.17", "DateGreaterThanEquals", "t", "2024-01-01T00:00:00Z", {"t": "2023-01-01T00:00:00Z"}, False),
    ("2.17", "Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": True}, True),
    ("2.17", "Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": "false"}, False),
    ("2.17 Bool ignores case", "Bool", "aws:SecureTransport", "True", {"aws:SecureTransport": "TRUE"}, True),
    ("1.4 missing", "Bool", "aws:SecureTransport", "true", {}, False),
    ("1.4 IfExists", "BoolIfExists", "aws:ViaAWSService", "false", {}, True),
    (
        "1.4 IfExists present",
        "BoolIfExists",
        "aws:ViaAWSService",
        "false",
        {"aws:ViaAWSService": "true"},
        False,
    ),
    ("2.17", "BinaryEquals", "b", "QmluYXJ5VmFsdWU=", {"b": "QmluYXJ5VmFsdWU="}, True),
    ("2.17", "BinaryEquals", "b", "QmluYXJ5VmFsdWU=", {"b": "T3RoZXI="}, False),
    ("2.17 v4", "IpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "203.0.113.5"}, True),
    ("2.17 v4", "IpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "198.51.100.1"}, False),
    (
        "2.17 single address",
        "IpAddress",
        "aws:SourceIp",
        "203.0.113.5",
        {"aws:SourceIp": "203.0.113.5"},
        True,
    ),
    ("2.17 v6", "IpAddress", "aws:SourceIp", "2001:db8::/32", {"aws:SourceIp": "2001:db8::1"}, True),
    ("2.17 v6 vs v4", "IpAddress", "aws:SourceIp", "2001:db8::/32", {"aws:SourceIp": "203.0.113.5"}, False),
    ("1.4 missing", "IpAddress", "aws:SourceIp", "203.0.113.0/24", {}, False),
    ("1.4", "NotIpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "198.51.100.1"}, True),
    ("1.4", "NotIpAddress", "aws:SourceIp", "2001:db8::/32", {"aws:SourceIp": "2001:db8:1::1"}, False),
    ("1.4 negated missing", "NotIpAddress", "aws:SourceIp", "203.0.113.0/24", {}, True),
    (
        "2.17 Arn glob",
        "ArnLike",
        "aws:PrincipalArn",
        "arn:aws:iam::111122223333:role/*",
        {"aws:PrincipalArn": ROLE_ARN},
        True,
    ),
    (
        "2.17 ArnEquals globs too",
        "ArnEquals",
        "aws:PrincipalArn",
        "arn:aws:iam::*:role/App",
        {"aws:PrincipalArn": ROLE_ARN},
        True,
    ),
    (
        "2.17 segment-wise",
        "ArnLike",
        "aws:SourceArn",
        "arn:aws:s3:::bucket/*",
        {"aws:SourceArn": "arn:aws:s3:::bucket/a/b:c"},
        True,
    ),
    (
        "2.17 wildcard stays in its segment",
        "ArnLike",
        "aws:SourceArn",
        "arn:aws:*:111122223333:x",
        {"aws:SourceArn": "arn:aws:s3:us-east-1:111122223333:x"},
        False,
    ),
    ("2.17 not an ARN", "ArnLike", "aws:SourceArn", "*", {"aws:SourceArn": "bucket"}, False),
    (
        "2.17 Arn case-sensitive",
        "ArnEquals",
        "aws:PrincipalArn",
        "arn:aws:iam::111122223333:role/app",
        {"aws:PrincipalArn": ROLE_ARN},
        False,
    ),
    (
        "1.4",
        "ArnNotEquals",
        "aws:PrincipalArn",
        "arn:aws:iam::111122223333:role/Admin",
        {"aws:PrincipalArn": ROLE_ARN},
        True,
    ),
    (
        "1.4",
        "ArnNotLike",
        "aws:PrincipalArn",
        "arn:aws:iam::111122223333:role/*",
        {"aws:PrincipalArn": ROLE_ARN},
        False,
    ),
    ("1.4 negated missing", "ArnNotLike", "aws:SourceArn", "arn:aws:s3:::*", {}, True),
    ("1.4 Null true: absent", "Null", "aws:SourceVpce", "true", {}, True),
    ("1.4 Null true: present", "Null", "aws:SourceVpce", "true", {"aws:SourceVpce": "vpce-1"}, False),
    ("1.4 Null false: present", "Null", "aws:SourceVpce", "false", {"aws:SourceVpce": "vpce-1"}, True),
    ("1.4 Null false: absent", "Null", "aws:SourceVpce", "false", {}, False),
    ("1.4 IfExists missing", "StringEqualsIfExists", "k", "a", {}, True),
    ("1.4 IfExists present", "StringEqualsIfExists", "k", "a", {"k": "b"}, False),
    (
        "1.4 IfExists negated",
        "StringNotEqualsIfExists",
        "aws:PrincipalOrgID",
        "o-1",
        {"aws:PrincipalOrgID": "o-1"},
        False,
    ),
    ("1.4 IfExists numeric", "NumericLessThanIfExists", "n", "5", {}, True),
    ("1.4 IfExists date", "DateGreaterThanIfExists", "t", "2024-01-01", {}, True),
    ("1.4 IfExists ip", "IpAddressIfExists", "aws:SourceIp", "10.0.0.0/8", {}, True),
    ("1.4 IfExists arn", "ArnLikeIfExists", "aws:SourceArn", "arn:aws:s3:::b", {}, True),
    ("1.4 IfExists binary", "BinaryEqualsIfExists", "b", "QQ==", {}, True),
    (
        "1.4 ForAnyValue",
        "ForAnyValue:StringEquals",
        "aws:TagKeys",
        ["a", "b"],
        {"aws:TagKeys": ["b", "c"]},
        True,
    ),
    ("1.4 ForAnyValue", "ForAnyValue:StringEquals", "aws:TagKeys", ["a", "b"], {"aws:TagKeys": ["c"]}, False),
    ("1.4 ForAnyValue no values", "ForAnyValue:StringEquals", "aws:TagKeys", "a", {}, False),
    (
        "1.4 ForAnyValue empty list",
        "ForAnyValue:StringEquals",
        "aws:TagKeys",
        "a",
        {"aws:TagKeys": []},
        False,
    ),
    (
        "1.4 ForAnyValue negated",
        "ForAnyValue:StringNotEquals",
        "aws:TagKeys",
        "a",
        {"aws:TagKeys": ["a", "b"]},
        True,
    ),
    (
        "1.4 ForAnyValue negated",
        "ForAnyValue:StringNotEquals",
        "aws:TagKeys",
        "a",
        {"aws:TagKeys": ["a"]},
        False,
    ),
    ("1.4 ForAnyValue negated missing", "ForAnyValue:StringNotEquals", "aws:TagKeys", "a", {}, False),
    (
        "1.4 ForAnyValue like",
        "ForAnyValue:StringLike",
        "aws:TagKeys",
        "env*",
        {"aws:TagKeys": ["x", "env-a"]},
        True,
    ),
    (
        "1.4 ForAllValues",
        "ForAllValues:StringEquals",
        "kms:EncryptionContextKeys",
        ["a", "b"],
        {"kms:EncryptionContextKeys": ["a"]},
        True,
    ),
    (
        "1.4 ForAllValues",
        "ForAllValues:StringEquals",
        "kms:EncryptionContextKeys",
        ["a", "b"],
        {"kms:EncryptionContextKeys": ["a", "c"]},
        False,
    ),
    ("1.4 ForAllValues no values", "ForAllValues:StringEquals", "kms:EncryptionContextKeys", "a", {}, True),
    (
        "1.4 ForAllValues empty list",
        "ForAllValues:StringEquals",
        "aws:TagKeys",
        "a",
        {"aws:TagKeys": []},
        True,
    ),
    (
        "1.4 ForAllValues negated",
        "ForAllValues:StringNotEquals",
        "aws:TagKeys",
        "a",
        {"aws:TagKeys": ["b", "c"]},
        True,
    ),
    (
        "1.4 ForAllValues negated",
        "ForAllValues:StringNotEquals",
        "aws:TagKeys",
        "a",
        {"aws:TagKeys": ["a", "b"]},
        False,
    ),
    ("1.4 ForAllValues IfExists", "ForAllValues:StringEqualsIfExists", "aws:TagKeys", "a", {}, True),
    ("1.4 ForAnyValue IfExists", "ForAnyValue:StringEqualsIfExists", "aws:TagKeys", "a", {}, True),
    ("1.4 ForAnyValue numeric", "ForAnyValue:NumericGreaterThan", "n", "5", {"n": [1, 9]}, True),
    ("1.4 operator names case-insensitive", "stringequals", "k", "a", {"k": "a"}, True),
    (
        "1.4 key names case-insensitive",
        "StringEquals",
        "KMS:ViaService",
        "s3.x",
        {"kms:viaservice": "s3.x"},
        True,
    ),
    (
        "2.17 EC key suffix case-insensitive",
        "StringEquals",
        "kms:EncryptionContext:Department",
        "Finance",
        {"kms:encryptioncontext:department": "Finance"},
        True,
    ),
    (
        "1.3 EC value case follows operator",
        "StringEquals",
        "kms:EncryptionContext:Department",
        "Finance",
        {"kms:EncryptionContext:Department": "finance"},
        False,
    ),
    (
        "1.3 EC IgnoreCase",
        "StringEqualsIgnoreCase",
        "kms:EncryptionContext:Department",
        "Finance",
        {"kms:EncryptionContext:department": "FINANCE"},
        True,
    ),
    (
        "1.4 multi-valued key, plain operator: any value",
        "StringEquals",
        "aws:TagKeys",
        "a",
        {"aws:TagKeys": ["b", "a"]},
        True,
    ),
    (
        "1.4 multi-valued key, plain negated",
        "StringNotEquals",
        "aws:TagKeys",
        "a",
        {"aws:TagKeys": ["b", "a"]},
        False,
    ),
]


@pytest.mark.parametrize(("section", "operator", "key", "values", "context", "expected"), CASES)
def test_operator(
    section: str, operator: str, key: str, values: Any, context: dict[str, Any], expected: bool
) -> None:
    assert holds(operator, key, values, context) is expected, section


VARIABLE_CASES: list[tuple[str, str, str, dict[str, Any], bool, bool]] = [
    # (section, operator, policy value, context, variables enabled, expected) on key "k"
    (
        "2.15 ${aws:username}",
        "StringEquals",
        "${aws:username}",
        {"k": "alice", "aws:username": "alice"},
        True,
        True,
    ),
    (
        "2.15 only in 2012-10-17",
        "StringEquals",
        "${aws:username}",
        {"k": "alice", "aws:username": "alice"},
        False,
        False,
    ),
    ("2.15 ${*} is a literal star", "StringLike", "a${*}", {"k": "a*"}, True, True),
    ("2.15 ${*} is no wildcard", "StringLike", "a${*}", {"k": "ab"}, True, False),
    ("2.15 ${?} literal", "StringLike", "a${?}", {"k": "a?"}, True, True),
    ("2.15 ${$} literal", "StringEquals", "${$}5", {"k": "$5"}, True, True),
    ("2.15 default value", "StringEquals", "${aws:PrincipalTag/team, 'none'}", {"k": "none"}, True, True),
    (
        "2.15 unresolved variable matches nothing",
        "StringEquals",
        "${aws:PrincipalTag/team}",
        {"k": ""},
        True,
        False,
    ),
    (
        "2.15 key case-insensitive",
        "StringEquals",
        "${AWS:UserName}",
        {"k": "bob", "aws:username": "bob"},
        True,
        True,
    ),
    (
        "2.15 value is literal inside StringLike",
        "StringLike",
        "home/${aws:username}/*",
        {"k": "home/a*/x", "aws:username": "a*"},
        True,
        True,
    ),
    (
        "2.15 value is literal inside StringLike",
        "StringLike",
        "home/${aws:username}/*",
        {"k": "home/ab/x", "aws:username": "a*"},
        True,
        False,
    ),
]


@pytest.mark.parametrize(("section", "operator", "value", "context", "variables", "expected"), VARIABLE_CASES)
def test_policy_variables(
    section: str, operator: str, value: str, context: dict[str, Any], variables: bool, expected: bool
) -> None:
    assert holds(operator, "k", value, context, variables=variables) is expected, section


@pytest.mark.parametrize(
    ("operator", "value"),
    [
        ("StringEqualz", "a"),
        ("NullIfExists", "true"),
        ("ForAnyValue:Nope", "a"),
        ("NumericEquals", "ten"),
        ("DateEquals", "yesterday"),
        ("IpAddress", "300.1.1.1"),
        ("Bool", "yes"),
        ("Null", "maybe"),
    ],
)
def test_malformed_operator_or_value_is_rejected_section_2_17(operator: str, value: str) -> None:
    with pytest.raises(
        ValueError, match=operator.split(":")[-1] if operator != "NullIfExists" else "NullIfExists"
    ):
        compile_conditions({operator: {"k": (value,)}}, True)


def test_several_operators_and_keys_are_anded_section_2_17() -> None:
    built = build_context({"a": "1", "b": "2"}, classify_caller(SESSION), "111122223333", frozenset())
    both = compile_conditions({"StringEquals": {"a": ("1",), "b": ("2",)}, "Null": {"c": ("true",)}}, True)
    one_fails = compile_conditions({"StringEquals": {"a": ("1",), "b": ("3",)}}, True)
    assert all(entry.evaluate(built) for entry in both)
    assert not all(entry.evaluate(built) for entry in one_fails)
