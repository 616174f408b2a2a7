"""The error codes AWS returns for KMS problems, and what each says (kms-evaluation.md §3, lookalikes).

KMS's own codes, and the codes other services use when KMS refused them on the caller's behalf
(Lambda and SNS `KMSAccessDenied…`, SQS and S3 `KMS.…`, RDS `KMSKeyNotAccessibleFault`, …).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.parse.models import DenialKind


@dataclass(frozen=True)
class Phrase:
    kind: DenialKind
    # The service that certainly returned this (its own code or wording), or None.
    service: str | None
    # How specific: 1 a generic code, 2 a service's own KMS code, 3 a message, 4 Lambda's env-var message.
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
GENERIC = frozenset({"AccessDeniedException", "AccessDenied", "DisabledException", "InvalidStateException",
                      "NotFoundException", "InvalidArnException", "OptInRequired"})  # fmt: skip
SERVICE_CODES: dict[str, Phrase] = {
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
    "KMS_KEY_NOT_FOUND": Phrase("key_not_found_or_denied", None, 2),
    "KMS_KEY_DISABLED": Phrase("key_state", "eks", 2),
    "KMS_GRANT_REVOKED": Phrase("unspecified", "eks", 2),
    "InsufficientEncryptionPolicyException": Phrase("unspecified", "cloudtrail", 2),
    "KmsKeyNotFoundException": Phrase("key_not_found_or_denied", None, 2),
    "KmsKeyDisabledException": Phrase("key_state", None, 2),
    "KmsAccessDeniedException": Phrase("unspecified", None, 2),
    "KmsInvalidStateException": Phrase("key_state", None, 2),
    "INVALID_KMS_KEY": Phrase("other", "firehose", 2),
    "CREATE_KMS_GRANT_FAILED": Phrase("unspecified", "firehose", 2),
    "EncryptionKeyAccessDeniedException": Phrase("unspecified", "codecommit", 2),
    "EncryptionKeyDisabledException": Phrase("key_state", "codecommit", 2),
    "EncryptionKeyNotFoundException": Phrase("key_not_found_or_denied", "codecommit", 2),
    "EncryptionKeyUnavailableException": Phrase("key_state", "codecommit", 2),
}


# A service's name for a KMS error, mapped to the KMS code it stands for.
_KMS_EQUIVALENT: dict[str, str] = {
    "KMSAccessDenied": "AccessDeniedException",
    "KMSAccessDeniedException": "AccessDeniedException",
    "KmsAccessDeniedException": "AccessDeniedException",
    "KMSDisabled": "DisabledException",
    "KMSDisabledException": "DisabledException",
    "KmsKeyDisabledException": "DisabledException",
    "KMSInvalidState": "KMSInvalidStateException",
    "KmsInvalidStateException": "KMSInvalidStateException",
    "InvalidStateException": "KMSInvalidStateException",
    "KMSNotFound": "NotFoundException",
    "KMSNotFoundException": "NotFoundException",
    "KmsKeyNotFoundException": "NotFoundException",
}


def kms_code(code: str | None) -> str | None:
    """The KMS error code a pasted code stands for (`KMS.DisabledException` -> `DisabledException`);
    codes of other services (`AccessDenied`, `InvalidParameterValueException`) are returned as they are."""
    if code is None:
        return None
    bare = code.removeprefix("KMS.") if code.startswith("KMS.") else code
    return _KMS_EQUIVALENT.get(bare, bare)
