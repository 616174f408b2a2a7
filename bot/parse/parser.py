"""`parse(text)`: every KMS access or key problem a paste reports, as Denials (interfaces.md)."""

from __future__ import annotations

import re
from typing import NamedTuple

from bot.parse import arns, grammar, services, wrappers
from bot.parse.codes import Phrase, kms_code
from bot.parse.findings import Finding
from bot.parse.models import Denial, DenialKind, ParseResult
from bot.parse.normalize import normalize
from bot.parse.service_names import KMS_OPERATIONS, operation_service

# Every recogniser needs one of these words; most chat and non-KMS errors stop here, cheaply.
_PREFILTER = ("kms", "ciphertext", "encryptionkey", "encryption key", "master key", "operation", "exception",
              "fault")  # fmt: skip
_ALIAS = re.compile(r"(?<![\w:/-])alias/[A-Za-z0-9/_-]{1,256}")
_KIND_RANK: dict[DenialKind, int] = {"other": 0, "unspecified": 1}
# ARNs that say nothing about which service called KMS.
_NOT_CUES = frozenset({"kms", "iam", "sts", "organizations"})
# More than a Slack thread can show; past it the rest of a huge paste is not read.
MAX_DENIALS = 100
_IDENTITY = ("action", "principal_arn", "resource_arn", "key_id", "denial_kind", "service_context")


def parse(text: str) -> ParseResult:
    """Pure and total: any string in, a ParseResult out (never raises on odd input)."""
    if not _may_matter(text):
        return ParseResult(relevant=False)
    normal = normalize(text)
    denials: list[Denial] = []
    seen: set[tuple[object, ...]] = set()
    # Logs repeat the same error many times: each distinct unit is read once.
    done: dict[str, list[Denial]] = {}
    for lo, hi in wrappers.units(normal):
        unit = normal[lo:hi]
        found = done.get(unit)
        if found is None:
            found = done[unit] = _read_unit(unit) if _may_matter(unit) else []
        for denial in found:
            identity = tuple(getattr(denial, name) for name in _IDENTITY)
            if identity not in seen:
                seen.add(identity)
                denials.append(denial)
        if len(denials) >= MAX_DENIALS:
            break
    return ParseResult(relevant=bool(denials), denials=tuple(denials))


def _may_matter(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in _PREFILTER)


def _read_unit(unit: str) -> list[Denial]:
    """The denials one error unit reports; every window stays inside the unit."""
    flat = unit.replace("\n", " ")  # same offsets: phrases and sentences may wrap across lines
    sentences = grammar.find(flat)
    phrases = services.find(unit, flat)
    if not (sentences or phrases):
        return []
    return _unit(flat, sentences, phrases)


class _Shared(NamedTuple):
    """What every denial of one unit shares, computed once per unit (a unit may hold many denials)."""

    message: str | None
    alias: str | None


def _by_rank(phrases: list[tuple[Finding, Phrase]]) -> list[Phrase]:
    return sorted((p for _, p in phrases), key=lambda p: -p.rank)


def _service(
    phrases: list[tuple[Finding, Phrase]],
    wrapper_service: str | None,
    context: wrappers.Context,
    unit_arns: list[arns.Arn],
) -> str | None:
    """The service that returned the error: its own wording first, then the outermost wrapper, then hints."""
    ranked = _by_rank(phrases)
    certain = next((p.service for p in ranked if p.service), None)
    hint = next((p.hint for p in ranked if p.hint), None)
    if hint and not certain and (wrapper_service is None or context.inner_kms_only):
        return hint  # `null (Service: AWSKMS; …)` is KMS's inner error; the service around it is not named
    if certain or wrapper_service:
        return certain or wrapper_service
    if any(p.rank == 2 for p in ranked):  # a service's KMS code (`KMSAccessDeniedException`) names no service
        return next((a.service for a in unit_arns if a.service not in _NOT_CUES and a.service), None)
    return None


def _unit(text: str, sentences: list[Finding], phrases: list[tuple[Finding, Phrase]]) -> list[Denial]:
    context = wrappers.read(text)
    op_service = operation_service(context.operation) if context.operation else None
    wrapper_service = context.service or op_service
    unit_arns = arns.find_all(text)
    kms_unit = wrapper_service == "kms" or any(arns.is_kms_key(arn) for arn in unit_arns)
    phrases = [(f, p) for f, p in phrases if not p.needs_kms or kms_unit]
    if not sentences and not phrases:
        return []
    service = _service(phrases, wrapper_service, context, unit_arns)
    # A service's own KMS code (`KMSAccessDeniedException`, `KMS.NotFoundException`) says another service
    # relayed KMS's answer, even when it does not say which.
    relayed = any(p.rank == 2 and not p.service and not p.hint for _, p in phrases)
    kms_own = any(p.kms_own for _, p in phrases) and not relayed
    operation = context.operation
    kms_operation = operation if operation in KMS_OPERATIONS and wrapper_service in (None, "kms") else None
    findings = sentences or [_merge(phrases)]
    alias = _ALIAS.search(text) if "alias/" in text else None
    shared = _Shared(text.strip()[:2000] or None, alias.group() if alias else None)
    denials: list[Denial] = []
    for finding in findings:
        own_service = service
        answered_by_kms = (finding.sentence and not relayed) or kms_own
        if own_service is None and answered_by_kms and context.error_code != "AccessDenied":
            own_service = "kms"  # KMS's own sentence or message, and no other service around it
        if own_service is None and kms_operation is not None:
            own_service = "kms"
        action = finding.action or (f"kms:{kms_operation}" if kms_operation else None)
        denials.append(_denial(finding, action, own_service, context, unit_arns, shared))
    return denials


def _merge(phrases: list[tuple[Finding, Phrase]]) -> Finding:
    """One unit without an IAM sentence reports one problem: the most specific kind wins (a vague-key or
    key-state message says more than a bare access-denied code), then the most specific phrase."""
    best = max(phrases, key=lambda fp: (_KIND_RANK.get(fp[1].kind, 2), fp[1].rank))[0]
    codes = [f.error_code for f, _ in phrases if f.error_code]
    action = next((f.action for f, _ in phrases if f.action), None)
    start, end = phrases[0][0].start, phrases[-1][0].end
    return Finding(start, end, best.denial_kind, action=action, error_code=codes[0] if codes else None)


def _denial(
    finding: Finding,
    action: str | None,
    service: str | None,
    context: wrappers.Context,
    unit_arns: list[arns.Arn],
    shared: _Shared,
) -> Denial:
    principal = arns.split(finding.principal_arn) if finding.principal_arn else None
    resource = finding.resource_arn
    parsed = arns.split(resource) if resource else None
    key_arn = parsed if parsed is not None and arns.is_kms_key(parsed) else None
    if resource is None:
        key_arn = next((arn for arn in unit_arns if arns.is_kms_key(arn)), None)
        resource = key_arn.text if key_arn else None
    key_id = finding.key_id or (arns.key_id(key_arn) if key_arn else None)
    if key_id is None and resource is None:
        key_id = shared.alias
    account = key_arn.account if key_arn and key_arn.account else (principal.account if principal else None)
    region = key_arn.region if key_arn and key_arn.region else None
    if region is None:
        others = (a.region for a in unit_arns if a.region and a.text != finding.principal_arn)
        region = next(others, context.region)
    return Denial(
        action=action,
        principal_arn=finding.principal_arn,
        resource_arn=resource,
        key_id=key_id,
        region=region,
        account=account or None,
        denial_kind=finding.denial_kind,
        service_context=service,
        error_code=kms_code(context.error_code or finding.error_code),
        policy_arn=finding.policy_arn,
        message=shared.message,
    )
