"""What services say when KMS refused them, and KMS's own non-permission lookalikes.

Each recogniser is an exact AWS error code or message phrase, never a loose word, so chat that merely
mentions KMS is not reported: a code only counts where it is shaped like an error (`(Code)`, `Code:`,
`Error Code: Code`, `api error Code`, `model.Code`), not when prose names it. Codes shared by many services
(`NotFoundException`, `AccessDeniedException`) only count where the unit is about KMS (`Phrase.needs_kms`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.parse.findings import Finding
from bot.parse.models import DenialKind


@dataclass(frozen=True)
class Phrase:
    kind: DenialKind
    # The service that certainly returned this (its own code or wording), or None.
    service: str | None
    rank: int
    needs_kms: bool = False
    # The service that usually returns this, used only when no wrapper names one.
    hint: str | None = None
    # KMS's own wording or code: with no wrapper naming another service, KMS itself answered.
    kms_own: bool = False


# Kind of a KMS error code (also when a service forwards it: `KMS.NotFoundException`, `KMS Exception: X`).
CODE_KINDS: dict[str, DenialKind] = {
    "AccessDeniedException": "unspecified",
    "AccessDenied": "unspecified",
    "DisabledException": "key_state",
    "KMSInvalidStateException": "key_state",
    "InvalidStateException": "key_state",
    "KeyUnavailableException": "key_state",
    "NotFoundException": "key_not_found_or_denied",
    "InvalidCiphertextException": "invalid_ciphertext",
    "IncorrectKeyException": "other",
    "InvalidKeyUsageException": "other",
    "KMSInvalidSignatureException": "other",
    "KMSInvalidMacException": "other",
    "InvalidArnException": "other",
    "InvalidGrantTokenException": "other",
    "IncorrectKeyMaterialException": "other",
    "OptInRequired": "other",
}
_GENERIC = frozenset({"AccessDeniedException", "AccessDenied", "DisabledException", "InvalidStateException",
                      "NotFoundException", "InvalidArnException", "OptInRequired"})  # fmt: skip
_SERVICE_CODES: dict[str, Phrase] = {
    "KMSAccessDeniedException": Phrase("unspecified", None, 2),
    "KMSAccessDenied": Phrase("unspecified", "sns", 2),
    "KMSDisabledException": Phrase("key_state", None, 2),
    "KMSDisabled": Phrase("key_state", "sns", 2),
    "KMSInvalidState": Phrase("key_state", "sns", 2),
    "KMSNotFoundException": Phrase("key_not_found_or_denied", None, 2),
    "KMSNotFound": Phrase("key_not_found_or_denied", "sns", 2),
    "KMSOptInRequired": Phrase("other", None, 2),
    "KMSKeyNotAccessibleFault": Phrase("key_not_found_or_denied", "rds", 2),
    "InvalidKMSKey.InvalidState": Phrase("key_state", "ec2", 2),
    "InvalidKMSResourceException": Phrase("unspecified", "firehose", 2),
    "KMS_ACCESS_DENIED": Phrase("unspecified", "firehose", 2),
    "DISABLED_KMS_KEY": Phrase("key_state", "firehose", 2),
    "KMS_KEY_NOT_FOUND": Phrase("key_not_found_or_denied", "firehose", 2),
    "INVALID_KMS_KEY": Phrase("other", "firehose", 2),
    "CREATE_KMS_GRANT_FAILED": Phrase("unspecified", "firehose", 2),
    "EncryptionKeyAccessDeniedException": Phrase("unspecified", "codecommit", 2),
    "EncryptionKeyDisabledException": Phrase("key_state", "codecommit", 2),
    "EncryptionKeyNotFoundException": Phrase("key_not_found_or_denied", "codecommit", 2),
    "EncryptionKeyUnavailableException": Phrase("key_state", "codecommit", 2),
}
_CODE = re.compile(
    r"(?<![A-Za-z0-9_])(?P<prefix>KMS\.(?:KMS)?)?(?P<code>"
    + "|".join(sorted((re.escape(c) for c in (*CODE_KINDS, *_SERVICE_CODES)), key=len, reverse=True))
    + r")(?![A-Za-z0-9_])"
)
# What may stand just before / after a code for it to be an error rather than a word in a sentence.
_CODE_BEFORE = re.compile(
    r"(?:[(.\[]|(?:Code|code|Type|type|name|api error|Exception|Reason|reason|State|rror|ERROR)[\"'`]?"
    r"\s{0,2}[:=]?\s{0,2}[\"'`]?)$"
)
_CODE_AFTER = re.compile(r"\s{0,2}[:)\]]|\s\(|\s{1,2}(?:KMS Message|status code)")
_SHAPE_WINDOW = 24

_MESSAGES: tuple[tuple[re.Pattern[str], Phrase], ...] = (
    (re.compile(r"Access to KMS is not allowed"), Phrase("unspecified", "secretsmanager", 3)),
    (
        re.compile(r"Secrets Manager can(?:'|’|no)t (?:decrypt|encrypt) the protected secret text"),
        Phrase("unspecified", "secretsmanager", 3),
    ),
    (
        re.compile(r"access a secret from a different AWS account if you encrypt the secret with"),
        Phrase("unspecified", "secretsmanager", 3),
    ),
    (
        re.compile(r"ciphertext refers to a (?:customer master key|CMK|KMS key|customer managed key)", re.I),
        Phrase("key_not_found_or_denied", None, 3),
    ),
    (
        re.compile(
            r"ciphertext references a key that doesn(?:'|’)t exist or that you don(?:'|’)t have access"
        ),
        Phrase("key_not_found_or_denied", None, 3),
    ),
    (
        re.compile(r"specified KMS key does not exist or is not allowed to be used with", re.I),
        Phrase("key_not_found_or_denied", "logs", 3),
    ),
    (
        re.compile(r"specified KMS Key Id could not be found", re.I),
        Phrase("key_not_found_or_denied", None, 3),
    ),
    (
        re.compile(r"does not exist, is not enabled or you do not have permissions to access it"),
        Phrase("key_not_found_or_denied", None, 3),
    ),
    (re.compile(r"KMS key provided is in an incorrect state"), Phrase("key_state", None, 3)),
    (
        re.compile(r"volumes are encrypted with an inaccessible (?:AWS )?KMS key"),
        Phrase("key_not_found_or_denied", "ec2", 3),
    ),
    (re.compile(r"User not authorized to perform kms:"), Phrase("unspecified", "eks", 3)),
    (
        re.compile(r"\bis (?:disabled|pending deletion|pending import|pending replica deletion)\b"),
        Phrase("key_state", None, 3, needs_kms=True, kms_own=True),
    ),
    (
        re.compile(r"Key '[^'\s]{1,300}' does not exist"),
        Phrase("key_not_found_or_denied", None, 3, needs_kms=True, kms_own=True),
    ),
    (
        re.compile(r"Alias '?arn:[^'\s]{1,300}'? is not found"),
        Phrase("key_not_found_or_denied", None, 3, kms_own=True),
    ),
    (re.compile(r"\bInvalid keyId\b"), Phrase("key_not_found_or_denied", None, 3, kms_own=True)),
    (re.compile(r"\bnull \(Service: AWSKMS"), Phrase("unspecified", None, 2, hint="sns")),
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
    if not text[line_start:start].strip(" \t-*>[]"):
        return True  # a line that starts with the code, as exception printers do
    before = text[max(0, start - _SHAPE_WINDOW) : start]
    return bool(_CODE_BEFORE.search(before) or _CODE_AFTER.match(text, end, end + _SHAPE_WINDOW))


def _codes(text: str) -> list[tuple[Finding, Phrase]]:
    found: list[tuple[Finding, Phrase]] = []
    for match in _CODE.finditer(text):
        if not _is_error_shaped(text, match.start(), match.end()):
            continue
        code = match.group("code")
        if match.group("prefix"):
            fallback = _SERVICE_CODES[code].kind if code in _SERVICE_CODES else "other"
            phrase = Phrase(CODE_KINDS.get(code, fallback), None, 2)
        elif code in _SERVICE_CODES:
            phrase = _SERVICE_CODES[code]
        else:
            phrase = Phrase(CODE_KINDS[code], None, 1, needs_kms=code in _GENERIC, kms_own=True)
        finding = Finding(match.start(), match.end(), phrase.kind, service_context=phrase.service)
        finding.error_code = match.group()
        found.append((finding, phrase))
    return found


def find(text: str, flat: str) -> list[tuple[Finding, Phrase]]:
    """Every service phrase or KMS error code, with how strongly it speaks for a KMS problem.

    `flat` is `text` with its line breaks turned into spaces (same offsets): messages may wrap, codes don't.
    """
    found = _codes(text)
    text = flat
    for pattern, phrase in _MESSAGES:
        for match in pattern.finditer(text):
            finding = Finding(match.start(), match.end(), phrase.kind, service_context=phrase.service)
            found.append((finding, phrase))
    for match in _LAMBDA.finditer(text):
        kind = _lambda_kind(text[match.end() : match.end() + _LAMBDA_WINDOW])
        finding = Finding(match.start(), match.end(), kind, service_context="lambda")
        found.append((finding, Phrase(kind, "lambda", 4)))
    found.sort(key=lambda pair: pair[0].start)
    return found
