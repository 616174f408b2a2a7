"""The IAM access-denied sentence (kms-evaluation.md §3):

`User: <arn> is not authorized to perform: <action> [on resource: <arn>] <reason>[: <policy arn>]`

and KMS's deliberately vague variants (`on this resource because the resource does not exist in this
Region…`, `on the resource associated with this ciphertext`). Only sentences about a `kms:` action are
reported: the same sentence about `s3:GetObject` is not a KMS problem.
"""

from __future__ import annotations

import re

from bot.parse import arns
from bot.parse.findings import Finding
from bot.parse.models import DenialKind

# Starts with a literal so the scan is a fast substring search; the `N`/`n` before it is not needed.
ANCHOR = re.compile(r"ot\s{1,4}authori[sz]ed\s{1,4}to\s{1,4}perform")
_LOOKBACK = 600
MAX_SENTENCES = 500  # see services.MAX_FINDINGS
_LOOKAHEAD = 700

_ACTION = re.compile(
    r":?\s{0,4}[\"'`]?(?P<action>[A-Za-z0-9_-]{1,64}:[A-Za-z0-9_*-]{1,128})[\"'`]?"
    r"(?:\s{1,4}on\s{1,4}(?:"
    # Without its colon, `on resource` must be followed by an ARN: otherwise it ends a truncated sentence.
    r"resource(?::\s{0,4}[\"'`]?|\s{1,4}[\"'`]?(?=arn:))(?P<resource>(?:<[^<>\n]{0,80}>|[^\s\"'`<]){1,2048})"
    r"|(?P<this>this\s{1,4}resource)"
    r"|(?P<ciphertext>the\s{1,4}resource\s{1,4}associated\s{1,4}with\s{1,4}this\s{1,4}ciphertext)"
    r"))?"
)

_POLICY = (
    r"(?P<layer>identity-based\s{1,4}polic(?:y|ies)|resource-based\s{1,4}polic(?:y|ies)"
    r"|service\s{1,4}control\s{1,4}polic(?:y|ies)|resource\s{1,4}control\s{1,4}polic(?:y|ies)"
    r"|permissions?\s{1,4}boundar(?:y|ies)(?:\s{1,4}polic(?:y|ies))?|sessions?\s{1,4}polic(?:y|ies)"
    r"|[Vv][Pp][Cc]\s{1,4}[Ee]ndpoint\s{1,4}polic(?:y|ies))"
)
_REASON = re.compile(
    r"(?P<vague>because\s{1,4}the\s{1,4}resource\s{1,4}does\s{1,4}not\s{1,4}exist)"
    r"|because\s{1,4}no\s{1,4}" + _POLICY + r"\s{1,4}allows?(?:\s{1,4}the\s{1,4}[^\s]{1,140}\s{1,4}action)?"
    r"|(?P<explicit>with\s{1,4}an\s{1,4}explicit\s{1,4}deny)\s{1,4}in\s{1,4}(?:an?\s{1,4}|the\s{1,4})?"
    + _POLICY.replace("?P<layer>", "?P<xlayer>"),
)
_PLACEHOLDER = re.compile(r"<[^<>\n]{0,80}>")
_POLICY_ARN = re.compile(r"\s{0,4}:\s{0,4}[\"'`]?(?P<arn>arn:[^\s\"'`,|\\]{1,2048})")

_LAYERS: dict[str, str] = {
    "identity": "identity",
    "resource-based": "resource",
    "service": "scp",
    "resource": "rcp",
    "permission": "boundary",
    "session": "session",
    "vpc": "vpce",
}


def _layer(phrase: str) -> str:
    head = phrase.split(None, 1)[0].lower()
    if head.startswith("permission"):
        return "boundary"
    if head.startswith("session"):
        return "session"
    if head.startswith("identity"):
        return "identity"
    return _LAYERS.get(head, "identity")


def _reason(tail: str) -> tuple[DenialKind, str | None, int]:
    """The denial kind the reason clause names, the policy ARN after it, and where the clause ends."""
    match = _REASON.search(tail)
    if match is None:
        return "unspecified", None, 0
    if match.group("vague"):
        return "key_not_found_or_denied", None, match.end()
    prefix = "explicit_deny_" if match.group("explicit") else "no_"
    layer = _layer(match.group("xlayer") or match.group("layer"))
    kind: DenialKind = _KINDS[prefix + layer + ("" if prefix == "explicit_deny_" else "_allow")]
    policy = _POLICY_ARN.match(tail, match.end())
    if policy is None:
        return kind, None, match.end()
    return kind, arns.clean(policy.group("arn")), policy.end()


_KINDS: dict[str, DenialKind] = {
    "no_identity_allow": "no_identity_allow",
    "no_resource_allow": "no_resource_allow",
    "no_scp_allow": "no_scp_allow",
    "no_rcp_allow": "no_rcp_allow",
    "no_boundary_allow": "no_boundary_allow",
    "no_session_allow": "no_session_allow",
    "no_vpce_allow": "no_vpce_allow",
    "explicit_deny_identity": "explicit_deny_identity",
    "explicit_deny_resource": "explicit_deny_resource",
    "explicit_deny_scp": "explicit_deny_scp",
    "explicit_deny_rcp": "explicit_deny_rcp",
    "explicit_deny_boundary": "explicit_deny_boundary",
    "explicit_deny_session": "explicit_deny_session",
    "explicit_deny_vpce": "explicit_deny_vpce",
}


def _principal(before: str) -> tuple[str | None, int]:
    """The token after the last `User:` (or `User `, as IAM Identity Center writes it) before the anchor."""
    at = before.rfind("User")
    if at < 0 or before[at + 4 : at + 5] not in (":", " "):
        return None, -1
    rest = before[at + 4 :].lstrip(":").strip()
    if rest.endswith(" is") or rest == "is":
        rest = rest[:-2].rstrip()
    rest = rest.strip("\"'`")
    bare = _PLACEHOLDER.sub("", rest) if "<" in rest else rest  # `<arn here>`, `<account id>` hold spaces
    if not rest or " " in bare or "\n" in bare or "\t" in bare:
        return None, -1
    return arns.clean(rest), at


def find(text: str) -> list[Finding]:
    """Every IAM denial sentence about a KMS action, in order."""
    if "authori" not in text:
        return []
    anchors: list[re.Match[str]] = []
    for match in ANCHOR.finditer(text):
        if match.start() and text[match.start() - 1] in "Nn":
            anchors.append(match)
            if len(anchors) >= MAX_SENTENCES:
                break
    found: list[Finding] = []
    for index, anchor in enumerate(anchors):
        lower_bound = anchors[index - 1].end() if index else 0
        upper_bound = anchors[index + 1].start() if index + 1 < len(anchors) else len(text)
        finding = _sentence(text, anchor, max(lower_bound, anchor.start() - _LOOKBACK), upper_bound)
        if finding is not None:
            found.append(finding)
    return found


def _sentence(text: str, anchor: re.Match[str], lo: int, hi: int) -> Finding | None:
    head = _ACTION.match(text, anchor.end(), min(hi, anchor.end() + _LOOKAHEAD))
    vague_resource = head is not None and bool(head.group("this") or head.group("ciphertext"))
    if head is None or not (head.group("action").lower().startswith("kms:") or vague_resource):
        return None
    begin = anchor.start() - 1  # the `N`/`n` of "not", left out of the pattern to keep its literal prefix
    principal, at = _principal(text[lo:begin])
    start = lo + at if at >= 0 else begin
    resource = head.group("resource")
    resource = arns.clean(resource.strip("\"'`")) if resource else None
    tail_end = min(hi, head.end() + _LOOKAHEAD)
    kind, policy_arn, consumed = _reason(text[head.end() : tail_end])
    key = None
    if resource is not None:
        parsed = arns.split(resource)
        key = arns.key_id(parsed) if parsed is not None and parsed.service == "kms" else None
        if key is None and resource.startswith("alias/"):
            key = resource
    return Finding(
        start=start,
        end=head.end() + consumed,
        denial_kind=kind,
        action=head.group("action"),
        principal_arn=principal,
        resource_arn=resource,
        key_id=key,
        policy_arn=policy_arn,
        sentence=True,
    )
