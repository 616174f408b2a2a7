"""`parse(text)`: every KMS access or key problem a paste reports, as Denials (interfaces.md)."""

from __future__ import annotations

import re

from bot.parse import arns, grammar, services, wrappers
from bot.parse.findings import Finding
from bot.parse.models import Denial, DenialKind, ParseResult
from bot.parse.normalize import normalize
from bot.parse.service_names import KMS_OPERATIONS, operation_service
from bot.parse.services import Phrase

# Every recogniser needs one of these words; most chat and non-KMS errors stop here, cheaply.
_PREFILTER = re.compile(r"kms|ciphertext|encryptionkey|master key", re.IGNORECASE)
_ALIAS = re.compile(r"(?<![\w:/-])alias/[A-Za-z0-9/_-]{1,256}")
_KIND_RANK: dict[DenialKind, int] = {"other": 0, "unspecified": 1}


def parse(text: str) -> ParseResult:
    """Pure and total: any string in, a ParseResult out (never raises on odd input)."""
    if not _PREFILTER.search(text):
        return ParseResult(relevant=False)
    normal = normalize(text)
    sentences = grammar.find(normal)
    phrases = services.find(normal)
    denials: list[Denial] = []
    seen: set[tuple[object, ...]] = set()
    s_index = p_index = 0
    for lo, hi in wrappers.units(normal):
        unit_sentences: list[Finding] = []
        while s_index < len(sentences) and sentences[s_index].start < hi:
            if sentences[s_index].start >= lo:
                unit_sentences.append(sentences[s_index])
            s_index += 1
        unit_phrases: list[tuple[Finding, Phrase]] = []
        while p_index < len(phrases) and phrases[p_index][0].start < hi:
            if phrases[p_index][0].start >= lo:
                unit_phrases.append(phrases[p_index])
            p_index += 1
        if unit_sentences or unit_phrases:
            for denial in _unit(normal[lo:hi], unit_sentences, unit_phrases):
                identity = tuple(
                    denial.model_dump(
                        include={
                            "action",
                            "principal_arn",
                            "resource_arn",
                            "key_id",
                            "denial_kind",
                            "service_context",
                        }
                    ).values()
                )
                if identity not in seen:
                    seen.add(identity)
                    denials.append(denial)
    return ParseResult(relevant=bool(denials), denials=tuple(denials))


def _unit(text: str, sentences: list[Finding], phrases: list[tuple[Finding, Phrase]]) -> list[Denial]:
    context = wrappers.read(text)
    op_service = operation_service(context.operation) if context.operation else None
    wrapper_service = context.service or op_service
    unit_arns = arns.find_all(text)
    kms_unit = wrapper_service == "kms" or any(arns.is_kms_key(arn) for arn in unit_arns)
    phrases = [(f, p) for f, p in phrases if not p.needs_kms or kms_unit]
    phrase_service = next(
        (p.service for _, p in sorted(phrases, key=lambda fp: -fp[1].rank) if p.service), None
    )
    service = phrase_service or wrapper_service
    kms_operation = context.operation if context.operation and (
        context.operation in KMS_OPERATIONS and wrapper_service in (None, "kms")
    ) else None  # fmt: skip
    findings = sentences or ([_merge([f for f, _ in phrases], phrases)] if phrases else [])
    denials: list[Denial] = []
    for finding in findings:
        own_service = service
        if own_service is None and finding.sentence and context.error_code != "AccessDenied":
            own_service = "kms"  # the IAM sentence about a kms: action is KMS's own answer
        if own_service is None and kms_operation is not None:
            own_service = "kms"
        action = finding.action or (f"kms:{kms_operation}" if kms_operation else None)
        denials.append(_denial(finding, action, own_service, context, unit_arns, text))
    return denials


def _merge(findings: list[Finding], phrases: list[tuple[Finding, Phrase]]) -> Finding:
    """One unit without an IAM sentence reports one problem: the most specific phrase names its kind."""
    best = max(phrases, key=lambda fp: (fp[1].rank, _KIND_RANK.get(fp[1].kind, 2)))[0]
    codes = [f.error_code for f in findings if f.error_code]
    return Finding(
        findings[0].start, findings[-1].end, best.denial_kind, error_code=codes[0] if codes else None
    )


def _denial(
    finding: Finding,
    action: str | None,
    service: str | None,
    context: wrappers.Context,
    unit_arns: list[arns.Arn],
    text: str,
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
        alias = _ALIAS.search(text)
        key_id = alias.group() if alias else None
    account = key_arn.account if key_arn and key_arn.account else (principal.account if principal else None)
    region = key_arn.region if key_arn and key_arn.region else None
    if region is None:
        principal_text = finding.principal_arn
        region = next((a.region for a in unit_arns if a.region and a.text != principal_text), context.region)
    return Denial(
        action=action,
        principal_arn=finding.principal_arn,
        resource_arn=resource,
        key_id=key_id,
        region=region,
        account=account or None,
        denial_kind=finding.denial_kind,
        service_context=service,
        error_code=context.error_code or finding.error_code,
        policy_arn=finding.policy_arn,
        message=text.strip()[:2000] or None,
    )
