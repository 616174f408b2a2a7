"""ARNs: parsing, and segment-wise ARN globs for Resource/NotResource and the Arn* operators (§2.15, §2.17).

Matching is case-sensitive. `*` and `?` stay inside one of the first five colon-separated segments; the
sixth (resource) segment may itself contain colons. A pattern with fewer than six segments that ends in
`*` covers the rest (so `arn:aws:kms:*` matches every KMS ARN). `Resource: "*"` matches anything.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from bot.policy.patterns import Pattern


class Arn(NamedTuple):
    partition: str
    service: str
    region: str
    account: str
    resource: str


def parse_arn(text: str) -> Arn | None:
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])


def account_of(text: str) -> str | None:
    arn = parse_arn(text)
    if arn is None or not arn.account:
        return None
    return arn.account


@lru_cache(maxsize=8192)
def arn_pattern(source: str, *, variables: bool) -> Pattern:
    """Shared: patterns are immutable, and the same resources recur across statements and policies."""
    return Pattern(source, variables=variables, wildcards=True, segmented=True)
