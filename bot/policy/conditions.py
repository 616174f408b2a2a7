"""Condition operators, compiled once (kms-evaluation.md §1.4, §2.17).

Semantics, per the IAM reference:
- Operators in a block, and keys under an operator, are ANDed; the values of one key are ORed.
- A missing key (or an empty list) makes a condition false; negated operators (`StringNotEquals`,
  `StringNotLike`, `StringNotEqualsIgnoreCase`, `NumericNotEquals`, `DateNotEquals`, `NotIpAddress`,
  `ArnNotEquals`, `ArnNotLike`) are true then. `…IfExists` is true when the key is missing. `Null` tests
  presence only (`true`: the key must be absent). With `ForAllValues:` no values is true; with
  `ForAnyValue:` no values is false (these qualifier rules win over negation; `IfExists` wins over both).
- A negated operator is the negation of its positive form: `StringNotEquals k [a, b]` is true when the
  value is neither a nor b. Per value the same holds under `ForAllValues`/`ForAnyValue`.
- Without a set qualifier a multi-valued key matches a positive operator when any of its values does
  (documented choice: AWS asks for a qualifier there and leaves the bare case unspecified).
- Operator names and key names are case-insensitive; condition values follow the operator (String*,
  Arn* and Binary are case-sensitive; `…IgnoreCase` and Bool are not). Typed values in the policy that do
  not parse (a number, a date, an IP/CIDR, a Bool other than true/false) are `PolicyError`s; request
  values that do not parse simply do not match.
- Dates: ISO 8601 (a date, or a date-time with `Z` or an offset; naive times are UTC) or epoch seconds.
- Policy variables work in String*, Arn* values (Version 2012-10-17 only).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from bot.policy.context import Context
from bot.policy.patterns import Pattern

Qualifier = Literal["any", "all"] | None
Test = Callable[[str, Context], bool]

# positive form, negated, family
_OPERATORS: dict[str, tuple[str, bool]] = {
    "stringequals": ("stringequals", False),
    "stringnotequals": ("stringequals", True),
    "stringequalsignorecase": ("stringequalsignorecase", False),
    "stringnotequalsignorecase": ("stringequalsignorecase", True),
    "stringlike": ("stringlike", False),
    "stringnotlike": ("stringlike", True),
    "numericequals": ("numericequals", False),
    "numericnotequals": ("numericequals", True),
    "numericlessthan": ("numericlessthan", False),
    "numericlessthanequals": ("numericlessthanequals", False),
    "numericgreaterthan": ("numericgreaterthan", False),
    "numericgreaterthanequals": ("numericgreaterthanequals", False),
    "dateequals": ("dateequals", False),
    "datenotequals": ("dateequals", True),
    "datelessthan": ("datelessthan", False),
    "datelessthanequals": ("datelessthanequals", False),
    "dategreaterthan": ("dategreaterthan", False),
    "dategreaterthanequals": ("dategreaterthanequals", False),
    "bool": ("bool", False),
    "binaryequals": ("binaryequals", False),
    "ipaddress": ("ipaddress", False),
    "notipaddress": ("ipaddress", True),
    "arnequals": ("arnlike", False),
    "arnlike": ("arnlike", False),
    "arnnotequals": ("arnlike", True),
    "arnnotlike": ("arnlike", True),
    "null": ("null", False),
}

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "equals": lambda a, b: a == b,
    "lessthan": lambda a, b: a < b,
    "lessthanequals": lambda a, b: a <= b,
    "greaterthan": lambda a, b: a > b,
    "greaterthanequals": lambda a, b: a >= b,
}


def parse_number(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


def parse_date(text: str) -> float | None:
    value = text.strip()
    number = parse_number(value)
    if number is not None:
        return number
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _decode_binary(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class ConditionEntry:
    operator: str  # as written in the policy
    key: str  # as written
    key_lower: str
    values: tuple[str, ...]
    qualifier: Qualifier
    if_exists: bool
    negated: bool
    family: str
    tests: tuple[Test, ...]
    # Every value the positive form accepts, when that is a fixed set (compared after `fold`); else None.
    exact: frozenset[str] | None = None
    fold: bool = False

    def evaluate(self, context: Context) -> bool:
        present = context.values.get(self.key_lower)
        exact = self.exact
        if exact is not None and present and self.qualifier is None:
            if self.fold:
                return any(value.lower() in exact for value in present) != self.negated
            if len(present) == 1:
                return (present[0] in exact) != self.negated
            return any(value in exact for value in present) != self.negated
        if self.family == "null":
            is_absent = not present
            return any((value.lower() == "true") == is_absent for value in self.values)
        if not present:
            if self.if_exists:
                return True
            if self.qualifier == "all":
                return True
            if self.qualifier == "any":
                return False
            return self.negated
        tests = self.tests
        if self.qualifier is None:
            return any(test(value, context) for value in present for test in tests) != self.negated
        outcomes = (any(test(value, context) for test in tests) != self.negated for value in present)
        return all(outcomes) if self.qualifier == "all" else any(outcomes)


def _string_tests(family: str, values: tuple[str, ...], variables: bool) -> tuple[Test, ...]:
    wildcards = family in ("stringlike", "arnlike")
    patterns = [
        Pattern(
            value,
            variables=variables,
            wildcards=wildcards,
            ignore_case=family == "stringequalsignorecase",
            segmented=family == "arnlike",
        )
        for value in values
    ]
    if family == "arnlike":
        return tuple(_arn_test(pattern) for pattern in patterns)
    return tuple(_pattern_test(pattern) for pattern in patterns)


def _pattern_test(pattern: Pattern) -> Test:
    return lambda value, context: pattern.matches(value, context.single)


def _arn_test(pattern: Pattern) -> Test:
    def test(value: str, context: Context) -> bool:
        # An Arn* operator compares ARNs: a request value that is not an ARN matches nothing.
        return value.count(":") >= 5 and pattern.matches(value, context.single)

    return test


def _typed_tests(family: str, operator: str, values: tuple[str, ...]) -> tuple[Test, ...]:
    if family.startswith("numeric") or family.startswith("date"):
        parse = parse_number if family.startswith("numeric") else parse_date
        compare = _COMPARE[family.removeprefix("numeric").removeprefix("date")]
        kind = "number" if family.startswith("numeric") else "date"
        tests: list[Test] = []
        for text in values:
            expected = parse(text)
            if expected is None:
                raise ValueError(f"{operator} value {text!r} is not a valid {kind}")
            tests.append(_ordered_test(parse, compare, expected))
        return tuple(tests)
    if family == "bool":
        for text in values:
            if text.lower() not in ("true", "false"):
                raise ValueError(f"{operator} value {text!r} is not true or false")
        return tuple(_bool_test(text.lower()) for text in values)
    if family == "binaryequals":
        return tuple(_binary_test(text) for text in values)
    networks = []
    for text in values:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{operator} value {text!r} is not an IP address or CIDR") from None
    return tuple(_ip_test(network) for network in networks)


def _ordered_test(
    parse: Callable[[str], float | None], compare: Callable[[float, float], bool], expected: float
) -> Test:
    def test(value: str, _context: Context) -> bool:
        actual = parse(value)
        return actual is not None and compare(actual, expected)

    return test


def _bool_test(expected: str) -> Test:
    return lambda value, _context: value.lower() == expected


def _binary_test(expected: str) -> Test:
    decoded = _decode_binary(expected)

    def test(value: str, _context: Context) -> bool:
        if value == expected:
            return True
        actual = _decode_binary(value)
        return decoded is not None and actual is not None and actual == decoded

    return test


def _ip_test(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Test:
    def test(value: str, _context: Context) -> bool:
        try:
            address = ipaddress.ip_address(value.strip())
        except ValueError:
            try:
                candidate = ipaddress.ip_network(value.strip(), strict=False)
            except ValueError:
                return False
            return candidate.version == network.version and candidate.subnet_of(network)  # type: ignore[arg-type]
        return address.version == network.version and address in network

    return test


def split_operator(operator: str) -> tuple[Qualifier, str, bool]:
    """`ForAnyValue:StringEqualsIfExists` → ("any", "stringequals", True); raises ValueError if unknown."""
    name = operator.strip()
    qualifier: Qualifier = None
    lower = name.lower()
    if lower.startswith("foranyvalue:"):
        qualifier, lower = "any", lower[len("foranyvalue:") :]
    elif lower.startswith("forallvalues:"):
        qualifier, lower = "all", lower[len("forallvalues:") :]
    if_exists = lower.endswith("ifexists") and lower != "ifexists"
    base = lower[: -len("ifexists")] if if_exists else lower
    if base not in _OPERATORS or (base == "null" and (if_exists or qualifier)):
        raise ValueError(f"unknown condition operator {operator!r}")
    return qualifier, base, if_exists


def compile_conditions(
    block: dict[str, dict[str, tuple[str, ...]]], variables: bool
) -> tuple[ConditionEntry, ...]:
    entries: list[ConditionEntry] = []
    for operator, keys in block.items():
        qualifier, base, if_exists = split_operator(operator)
        family, negated = _OPERATORS[base]
        for key, values in keys.items():
            if family == "null":
                for text in values:
                    if text.lower() not in ("true", "false"):
                        raise ValueError(f"Null value {text!r} for {key!r} is not true or false")
                tests: tuple[Test, ...] = ()
            elif family.startswith("string") or family == "arnlike":
                tests = _string_tests(family, values, variables)
            else:
                tests = _typed_tests(family, operator, values)
            exact, fold = _exact_values(family, values, variables)
            entries.append(
                ConditionEntry(
                    operator,
                    key,
                    key.lower(),
                    values,
                    qualifier,
                    if_exists,
                    negated,
                    family,
                    tests,
                    exact,
                    fold,
                )
            )
    return tuple(entries)


def _exact_values(
    family: str, values: tuple[str, ...], variables: bool
) -> tuple[frozenset[str] | None, bool]:
    """The set a value must be in for the positive operator to hold, where a set lookup decides it (as
    `Pattern` compares: exact, or both sides lower-cased for IgnoreCase; Bool is case-insensitive)."""
    if family == "bool":
        return frozenset(value.lower() for value in values), True
    if family not in ("stringequals", "stringequalsignorecase"):
        return None, False
    if variables and any("${" in value for value in values):
        return None, False
    if family == "stringequals":
        return frozenset(values), False
    return frozenset(value.lower() for value in values), True
