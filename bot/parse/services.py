"""What services say when KMS refused them, and KMS's own non-permission lookalikes.

Each recogniser is an exact AWS error code or message phrase, never a loose word, so chat that merely
mentions KMS is not reported: a code only counts where it is shaped like an error (`(Code)`, `Code:`,
`Error Code: Code`, `api error Code`, `model.Code`), not when prose names it. Codes shared by many services
(`NotFoundException`, `AccessDeniedException`) only count where the unit is about KMS (`Phrase.needs_kms`).
"""

from __future__ import annotations

import re

from bot.parse.codes import CODE_KINDS, GENERIC, SERVICE_CODES, Phrase
from bot.parse.findings import Finding
from bot.parse.models import DenialKind

_ALL_CODES: dict[str, Phrase] = {
    **{
        code: Phrase(kind, None, 1, needs_kms=code in GENERIC, kms_own=True)
        for code, kind in CODE_KINDS.items()
    },
    **SERVICE_CODES,
}
# Candidate words, looked up in `_ALL_CODES`: one cheap scan instead of an alternation of 40 codes.
_WORD = re.compile(
    r"(?<![A-Za-z0-9_])(?P<prefix>KMS\.(?:KMS)?)?(?P<code>[A-Z][A-Za-z_]{5,48}(?:\.InvalidState)?)"
)
# What may stand just before / after a code for it to be an error rather than a word in a sentence.
_CODE_LEADS = ("Code", "code", "Type", "type", "name", "api error", "Exception", "Reason", "reason", "State",
               "rror", "ERROR")  # fmt: skip
_CODE_AFTER = re.compile(r"\s{0,2}[:)\]]|\s\(|\s{1,2}(?:KMS Message|status code)")
_SHAPE_WINDOW = 24
# A paste is answered in one Slack thread: past this many findings per recogniser the rest of a huge
# paste (a whole CI log) adds nothing, and stopping keeps adversarial input cheap.
MAX_FINDINGS = 500

# (needle, pattern, phrase): the needle is a literal every match contains, found with a fast substring
# search before the pattern (if any) confirms; patterns start with a literal so the scan stays cheap.
_MESSAGES: tuple[tuple[str, re.Pattern[str] | None, Phrase], ...] = (
    ("Access to KMS is not allowed", None, Phrase("unspecified", "secretsmanager", 3)),
    (
        "protected secret text",
        re.compile(r"Secrets Manager can(?:'|’|no)t (?:decrypt|encrypt) the protected secret text"),
        Phrase("unspecified", "secretsmanager", 3),
    ),
    (
        "access a secret from a different AWS account if you encrypt the secret with",
        None,
        Phrase("unspecified", "secretsmanager", 3),
    ),
    (
        "iphertext refers to a ",
        re.compile(r"iphertext refers to a (?:customer master key|CMK|KMS key|customer managed key)"),
        Phrase("key_not_found_or_denied", None, 3, kms_own=True),
    ),
    (
        "iphertext references a key that doesn",
        None,
        Phrase("key_not_found_or_denied", None, 3),
    ),
    (
        "KMS key does not exist or is not allowed to be used with",
        None,
        Phrase("key_not_found_or_denied", "logs", 3),
    ),
    ("KMS Key Id could not be found", None, Phrase("key_not_found_or_denied", None, 3)),
    (
        "does not exist, is not enabled or you do not have permissions to access it",
        None,
        Phrase("key_not_found_or_denied", None, 3),
    ),
    ("KMS key provided is in an incorrect state", None, Phrase("key_state", None, 3)),
    ("specified KMS key isn't enabled", None, Phrase("key_state", None, 3)),
    ("specified KMS key is not enabled", None, Phrase("key_state", None, 3)),
    ("specified CMK is not enabled", None, Phrase("key_state", None, 3)),
    (
        "You are not authorized to perform this operation",
        re.compile(r"API: (?P<action>kms:[A-Za-z]{2,80}) You are not authorized to perform this operation"),
        Phrase("unspecified", None, 3, kms_own=True),
    ),
    (
        "encrypted with an inaccessible ",
        re.compile(r"encrypted with an inaccessible (?:AWS )?KMS key"),
        Phrase("key_not_found_or_denied", "ec2", 3),
    ),
    ("User not authorized to perform kms:", None, Phrase("unspecified", "eks", 3)),
    (
        " is ",
        re.compile(r" is (?:disabled|pending deletion|pending import|pending replica deletion)\b"),
        Phrase("key_state", None, 3, needs_kms=True, kms_own=True),
    ),
    (
        "' does not exist",
        re.compile(r"Key '[^'\s]{1,300}' does not exist"),
        Phrase("key_not_found_or_denied", None, 3, needs_kms=True, kms_own=True),
    ),
    (
        " is not found",
        re.compile(r"Alias '?arn:[^'\s]{1,300}'? is not found"),
        Phrase("key_not_found_or_denied", None, 3, kms_own=True),
    ),
    ("Invalid keyId", None, Phrase("key_not_found_or_denied", None, 3, kms_own=True)),
    ("null (Service: AWSKMS", None, Phrase("unspecified", None, 2, hint="sns")),
    ("KMS key access denied error", None, Phrase("unspecified", None, 2, hint="dynamodb")),
)

_LAMBDA = re.compile(
    r"Lambda was unable to (?:decrypt|configure access to) (?:the |your )?environment variables"
)
_LAMBDA_CODE = re.compile(r"KMS Exception: (?P<code>[A-Za-z]{1,80})")
_LAMBDA_CAUSES: tuple[tuple[re.Pattern[str], DenialKind], ...] = (
    (re.compile(r"access was denied|AccessDenied"), "unspecified"),
    (re.compile(r"is disabled|InvalidState|invalid state|pending deletion"), "key_state"),
    (re.compile(r"not found|NotFound"), "key_not_found_or_denied"),
)
_LAMBDA_WINDOW = 300


def _lambda_kind(window: str) -> DenialKind:
    code = _LAMBDA_CODE.search(window)
    if code is not None:
        # Lambda glues the code to the next words: `KMS Exception: AccessDeniedExceptionKMS Message: …`.
        name = code.group("code").removesuffix("KMS")
        if name in CODE_KINDS:
            return CODE_KINDS[name]
    for pattern, kind in _LAMBDA_CAUSES:
        if pattern.search(window):
            return kind
    return "unspecified"


def _is_error_shaped(text: str, start: int, end: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    rest_of_line = text[end : line_end if line_end >= 0 else len(text)]
    if not text[line_start:start].strip(" \t-*>[]") and not rest_of_line.strip():
        return True  # the code alone on its line, as some log formats print it
    before = text[max(0, start - _SHAPE_WINDOW) : start]
    if before.endswith(("(", ".", "[")) or before.rstrip(" \"'`:=").endswith(_CODE_LEADS):
        return True
    return _CODE_AFTER.match(text, end, end + _SHAPE_WINDOW) is not None


def _codes(text: str) -> list[tuple[Finding, Phrase]]:
    found: list[tuple[Finding, Phrase]] = []
    for match in _WORD.finditer(text):
        if len(found) >= MAX_FINDINGS:
            break
        code = match.group("code")
        phrase = _ALL_CODES.get(code)
        if phrase is None or not _is_error_shaped(text, match.start(), match.end()):
            continue
        if match.group("prefix"):
            phrase = Phrase(phrase.kind if code in SERVICE_CODES else CODE_KINDS.get(code, "other"), None, 2)
        finding = Finding(match.start(), match.end(), phrase.kind, service_context=phrase.service)
        finding.error_code = match.group()
        found.append((finding, phrase))
    return found


def _messages(text: str) -> list[tuple[Finding, Phrase]]:
    found: list[tuple[Finding, Phrase]] = []
    for needle, pattern, phrase in _MESSAGES:
        if needle not in text:
            continue
        if pattern is None:
            at = text.find(needle)
            while at >= 0 and len(found) < MAX_FINDINGS:
                found.append(
                    (Finding(at, at + len(needle), phrase.kind, service_context=phrase.service), phrase)
                )
                at = text.find(needle, at + len(needle))
            continue
        for match, _ in zip(pattern.finditer(text), range(MAX_FINDINGS), strict=False):
            finding = Finding(match.start(), match.end(), phrase.kind, service_context=phrase.service)
            finding.action = match.groupdict().get("action")
            found.append((finding, phrase))
    return found


def find(text: str, flat: str) -> list[tuple[Finding, Phrase]]:
    """Every service phrase or KMS error code, with how strongly it speaks for a KMS problem.

    `flat` is `text` with its line breaks turned into spaces (same offsets): messages may wrap, codes don't.
    """
    found = _codes(text) + _messages(flat)
    if "Lambda was unable to" in flat:
        for match in _LAMBDA.finditer(flat):
            kind = _lambda_kind(flat[match.end() : match.end() + _LAMBDA_WINDOW])
            finding = Finding(match.start(), match.end(), kind, service_context="lambda")
            found.append((finding, Phrase(kind, "lambda", 4)))
    found.sort(key=lambda pair: pair[0].start)
    return found
