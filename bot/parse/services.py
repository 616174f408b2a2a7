"""What services say when KMS refused them, and KMS's own non-permission lookalikes.

Each recogniser is an exact AWS error code or message phrase, never a loose word, so chat that merely
mentions KMS is not reported. Codes shared by many services (`NotFoundException`, `AccessDeniedException`)
only count where the unit is about KMS (see `Phrase.needs_kms`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.parse.findings import Finding
from bot.parse.models import DenialKind


@dataclass(frozen=True)
class Phrase:
    kind: DenialKind
    service: str | None
    rank: int
    needs_kms: bool = False


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
                      "NotFoundException", "InvalidArnException"})  # fmt: skip
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
    "EncryptionKeyAccessDeniedException": Phrase("unspecified", "codecommit", 2),
    "EncryptionKeyDisabledException": Phrase("key_state", "codecommit", 2),
    "EncryptionKeyNotFoundException": Phrase("key_not_found_or_denied", "codecommit", 2),
    "EncryptionKeyUnavailableException": Phrase("key_state", "codecommit", 2),
}
_CODE = re.compile(
    r"\b(?P<prefix>KMS\.(?:KMS)?)?(?P<code>"
    + "|".join(sorted((re.escape(c) for c in (*CODE_KINDS, *_SERVICE_CODES)), key=len, reverse=True))
    + r")\b"
)

_MESSAGES: tuple[tuple[re.Pattern[str], Phrase], ...] = (
    (re.compile(r"Access to KMS is not allowed"), Phrase("unspecified", "secretsmanager", 3)),
    (
        re.compile(r"Secrets Manager can(?:'|’|no)t (?:decrypt|encrypt) the protected secret text"),
        Phrase("unspecified", "secretsmanager", 3),
    ),
    (
        re.compile(
            r"can(?:'|’|no)t access a secret from a different AWS account if you encrypt the secret with"
        ),
        Phrase("unspecified", "secretsmanager", 3),
    ),
    (
        re.compile(r"ciphertext refers to a (?:customer master key|CMK|KMS key|customer managed key)", re.I),
        Phrase("key_not_found_or_denied", None, 3),
    ),
    (
        re.compile(r"specified KMS key does not exist or is not allowed to be used with"),
        Phrase("key_not_found_or_denied", "logs", 3),
    ),
    (
        re.compile(r"does not exist, is not enabled or you do not have permissions to access it"),
        Phrase("key_not_found_or_denied", None, 3),
    ),
    (re.compile(r"KMS key provided is in an incorrect state"), Phrase("key_state", None, 3)),
    (
        re.compile(r"\bis (?:disabled|pending deletion|pending import|pending replica deletion)\b"),
        Phrase("key_state", None, 3, needs_kms=True),
    ),
    (re.compile(r"Key '[^'\s]{1,300}' does not exist"), Phrase("key_not_found_or_denied", None, 3, True)),
    (re.compile(r"Alias '?arn:[^'\s]{1,300}'? is not found"), Phrase("key_not_found_or_denied", None, 3)),
    (re.compile(r"\bInvalid keyId\b"), Phrase("key_not_found_or_denied", None, 3, needs_kms=True)),
)

_LAMBDA = re.compile(
    r"Lambda was unable to (?:decrypt|configure access to) (?:the |your )?environment variables"
)
_LAMBDA_CAUSES: tuple[tuple[re.Pattern[str], DenialKind], ...] = (
    (re.compile(r"KMS Exception: (?P<code>[A-Za-z]{1,80})"), "other"),
    (re.compile(r"access was denied|AccessDenied"), "unspecified"),
    (re.compile(r"is disabled|InvalidState|invalid state|pending deletion"), "key_state"),
    (re.compile(r"not found|NotFound"), "key_not_found_or_denied"),
)
_LAMBDA_WINDOW = 300


def _lambda(text: str) -> list[Finding]:
    found: list[Finding] = []
    for match in _LAMBDA.finditer(text):
        window = text[match.end() : match.end() + _LAMBDA_WINDOW]
        kind: DenialKind = "unspecified"
        for pattern, cause in _LAMBDA_CAUSES:
            hit = pattern.search(window)
            if hit is None:
                continue
            kind = CODE_KINDS.get(hit.group("code"), "other") if pattern.groups else cause
            break
        found.append(Finding(match.start(), match.end(), kind, service_context="lambda"))
    return found


def find(text: str) -> list[tuple[Finding, Phrase]]:
    """Every service phrase or KMS error code in `text`, with how strongly it speaks for a KMS problem."""
    found: list[tuple[Finding, Phrase]] = []
    for match in _CODE.finditer(text):
        code = match.group("code")
        if match.group("prefix"):
            fallback = _SERVICE_CODES[code].kind if code in _SERVICE_CODES else "other"
            phrase = Phrase(CODE_KINDS.get(code, fallback), None, 2)
        elif code in _SERVICE_CODES:
            phrase = _SERVICE_CODES[code]
        else:
            phrase = Phrase(CODE_KINDS[code], None, 1, needs_kms=code in _GENERIC)
        finding = Finding(match.start(), match.end(), phrase.kind, service_context=phrase.service,
                          error_code=match.group())  # fmt: skip
        found.append((finding, phrase))
    for pattern, phrase in _MESSAGES:
        for match in pattern.finditer(text):
            finding = Finding(match.start(), match.end(), phrase.kind, service_context=phrase.service)
            found.append((finding, phrase))
    found.extend((finding, Phrase(finding.denial_kind, "lambda", 4)) for finding in _lambda(text))
    found.sort(key=lambda pair: pair[0].start)
    return found
