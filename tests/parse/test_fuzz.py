"""The parser is total: any text in, a well-formed ParseResult out, never an exception.

Hypothesis mixes random text with the fragments real pastes are made of (anchors, wrappers, ARNs,
escapes, box characters), so the tokenizer and every window bound are exercised, not just the noise
path. Linear behaviour is checked by size (a long input of repeated near-misses finishes), never by
timing; benchmarks/parse.py measures speed.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.parse import parse
from bot.parse.models import PUBLIC_FIELDS

FRAGMENTS = [
    "User: ",
    "User ",
    " is not authorized to perform: ",
    "kms:Decrypt",
    " on resource: ",
    " on this resource",
    " on the resource associated with this ciphertext",
    " because no identity-based policy allows the kms:Decrypt action",
    " with an explicit deny in a service control policy: ",
    "arn:aws:kms:us-east-1:111122223333:key/",
    "arn:aws:sts::111122223333:assumed-role/R/s",
    "arn:aws:kms:",
    "alias/",
    "<arn here>",
    "<account id>",
    "<",
    ">",
    "<br>",
    "An error occurred (AccessDeniedException) when calling the Decrypt operation: ",
    "A client error (",
    "operation error KMS: ",
    "api error ",
    "(Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException; Request ID: x)",
    "(Service: Sqs, Status Code: 400",
    "KMS.NotFoundException",
    "KMSAccessDeniedException",
    "DisabledException: ",
    " is disabled.",
    "Key '",
    "' does not exist",
    "Access to KMS is not allowed",
    "Lambda was unable to decrypt the environment variables",
    "KMS Exception: ",
    "The ciphertext refers to a customer master key",
    "null (Service: AWSKMS",
    "Error: ",
    '"eventSource": "kms.amazonaws.com"',
    '"errorCode": "AccessDenied"',
    "\\n",
    '\\"',
    "\\\\",
    "\\u00",
    "\n",
    "\n\n",
    "│ ",
    " │",
    "| ",
    "- | ",
    "```",
    "> ",
    "\t",
    "\r",
    " ",
    ":",
    "'",
    '"',
    "(",
    ")",
]


def _check(text: str) -> None:
    result = parse(text)
    public = result.public_json()
    assert public["relevant"] == bool(result.denials)
    for denial in public["denials"]:  # type: ignore[attr-defined]
        assert set(denial) == PUBLIC_FIELDS
        assert all(value is None or isinstance(value, str) for value in denial.values())
        action = denial["action"]
        assert action is None or action.lower().startswith("kms:")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=60).map("".join))
def test_fragments_of_real_pastes_never_raise(text: str) -> None:
    _check(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_unicode_never_raises(text: str) -> None:
    _check(text)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FRAGMENTS), st.sampled_from(FRAGMENTS), st.integers(min_value=2_000, max_value=20_000))
def test_long_runs_of_near_misses_finish(first: str, second: str, repeat: int) -> None:
    _check((first + second) * repeat)


def test_every_value_in_a_denial_is_copied_from_the_paste() -> None:
    text = (
        "An error occurred (AccessDeniedException) when calling the Decrypt operation: User: "
        "arn:aws:sts::xxxx:assumed-role/R/s is not authorized to perform: kms:Decrypt on resource: "
        "arn:aws:kms:<region>:****:key/<key-id> because no resource-based policy allows the kms:Decrypt"
        " action"
    )
    (denial,) = parse(text).denials
    for value in (denial.principal_arn, denial.resource_arn, denial.key_id, denial.region, denial.account):
        assert value is not None and value in text
