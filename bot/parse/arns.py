"""ARN tokens as people paste them: verbatim, redactions kept, surrounding punctuation trimmed."""

from __future__ import annotations

import re
from typing import NamedTuple

# An ARN runs until whitespace, a quote, a comma, a pipe or a backslash (a leftover escape). Brackets
# stay inside because redactions use them (`<account-id>`, `{account}`, `[REDACTED]`), and a short
# `<…>` placeholder may even hold spaces (`<account id>`); unbalanced closing brackets are trimmed
# afterwards. The two alternatives never start with the same character, so matching stays linear.
TOKEN = r"(?:<[^<>\n]{0,40}>|[^\s\"'`,|\\<]){1,2048}"
ARN_RE = re.compile(r"arn:" + TOKEN)
_TRAILING = ".,;:!?)]}>"
_PAIRS = {")": "(", "]": "[", "}": "{", ">": "<"}
_HTML_TAIL = re.compile(r"(?:</?(?:br|code|pre|p|b|i|em|strong|span|div|tt|kbd|samp|td|li) ?/?>)+$")


class Arn(NamedTuple):
    text: str
    service: str
    region: str
    account: str
    resource: str


def clean(token: str) -> str:
    """Trim sentence punctuation, unbalanced closing brackets and HTML tags from the end of a pasted token."""
    if token.endswith(">") and ("</" in token or "<br" in token):
        token = _HTML_TAIL.sub("", token)
    while token and token[-1] in _TRAILING:
        if token.endswith(".."):
            break  # an ellipsis is a redaction (`assumed-role/app/...`), kept verbatim
        last = token[-1]
        opener = _PAIRS.get(last)
        if opener is not None and token.count(opener) >= token.count(last):
            break
        token = token[:-1]
    return token


def split(text: str) -> Arn | None:
    parts = text.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return None
    return Arn(text, parts[2].lower(), parts[3], parts[4], parts[5])


def find_all(text: str) -> list[Arn]:
    found: list[Arn] = []
    for match in ARN_RE.finditer(text):
        arn = split(clean(match.group()))
        if arn is not None:
            found.append(arn)
    return found


def is_kms_key(arn: Arn) -> bool:
    return arn.service == "kms" and arn.resource.startswith(("key/", "alias/"))


def key_id(arn: Arn) -> str | None:
    """The part after `key/`, or the alias itself (`alias/…`) when the ARN names an alias."""
    if arn.resource.startswith("key/"):
        return arn.resource[4:] or None
    if arn.resource.startswith("alias/"):
        return arn.resource
    return None
