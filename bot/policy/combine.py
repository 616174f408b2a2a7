"""The KMS decision from the evaluated layers (kms-evaluation.md §2 E, steps 28-36).

Order of `failing_checks` (§2.37): explicit denies (rcp, scp, vpc_endpoint, key_policy, identity,
permissions_boundary, session), then `rcp`, `scp` (one per level without an Allow), `vpc_endpoint`,
`key_policy`, `identity`, `permissions_boundary`, `session`.

Key side (§2.32): `key_ok` = a key-policy Allow names the caller (any class) or a grant allows.
Same account (§2.33), the first path that holds wins; when none holds, the path with the fewest failing
checks is reported (ties: the earlier one):
- (a) a key-policy Allow names the caller's user, session or federated-user ARN (`direct`) or its
  service principal: nothing else is needed;
- (b) it names the caller's role ARN (`role`), or `"*"` (`any`: interfaces.md, marked unverified): the
  permissions boundary and session policy, where present, must allow;
- (c) a grant allows: allowed; if a boundary or session policy does not allow, a note says this is
  undocumented;
- (d) it delegates to the caller's account (`account`): identity, boundary and session must allow.
  When the key policy does not allow at all, (d) is the path whose other failures are reported.
Cross account (§2.34): the key side must hold, and on the caller's side identity (or a grant: KMS "key
trust", unverified) AND boundary AND session; naming the caller directly changes nothing there.
Overlays (§2.35), reported as `key_policy` checks with a `reason`: an AWS managed key used from another
account (`aws_managed_cross_account`) or without `kms:ViaService` (`aws_managed_direct_use`); an
operation that cannot be used cross-account, called cross-account (`not_cross_account_capable`).
The account root user needs no identity policy (interfaces.md); service principals and anonymous callers
have no identity side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from bot.policy.context import Context
from bot.policy.layers import Layer
from bot.policy.principals import Caller
from bot.policy.simulation import Decision, PolicyType

# Operations that work on a key in another account (KMS developer guide); any other is refused.
CROSS_ACCOUNT_OPERATIONS = frozenset(
    {
        "kms:decrypt",
        "kms:encrypt",
        "kms:generatedatakey",
        "kms:generatedatakeypair",
        "kms:generatedatakeypairwithoutplaintext",
        "kms:generatedatakeywithoutplaintext",
        "kms:generatemac",
        "kms:verifymac",
        "kms:reencryptfrom",
        "kms:reencryptto",
        "kms:sign",
        "kms:verify",
        "kms:derivesharedsecret",
        "kms:creategrant",
        "kms:describekey",
        "kms:getkeyrotationstatus",
        "kms:getpublickey",
        "kms:listgrants",
        "kms:retiregrant",
        "kms:revokegrant",
    }
)
DENY_ORDER: tuple[PolicyType, ...] = (
    "rcp",
    "scp",
    "vpc_endpoint",
    "key_policy",
    "identity",
    "permissions_boundary",
    "session",
)


class Check(NamedTuple):
    """A failing check; a named tuple because one is built per explicit deny on every decision."""

    policy_type: PolicyType
    kind: Literal["explicit_deny", "no_allow"]
    statement: str | None = None
    policy_index: int | None = None
    level: int | None = None
    explain: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class Verdict:
    decision: Decision
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


IDENTITY_NO_ALLOW = Check("identity", "no_allow", explain="no identity-based policy allows the action")
BOUNDARY_NO_ALLOW = Check(
    "permissions_boundary", "no_allow", explain="no permissions boundary allows the action"
)
SESSION_NO_ALLOW = Check("session", "no_allow", explain="no session policy allows the action")
KEY_NO_ALLOW = Check("key_policy", "no_allow", explain="no resource-based policy allows the action")
VPCE_NO_ALLOW = Check("vpc_endpoint", "no_allow", explain="no VPC endpoint policy allows the action")


def _grant_direct(layers: dict[PolicyType, Layer]) -> bool:
    """A grant to the caller itself (its user, role, session or service). A grant whose grantee is an
    account is read like a key-policy delegation to that account: its IAM policies must allow (unverified)."""
    return bool(layers["grants"].classes - {"account"})


def _ok(layer: Layer) -> bool:
    return not layer.applies or layer.allows is True


def _caller_side(layers: dict[PolicyType, Layer], identity_needed: bool) -> list[Check]:
    checks: list[Check] = []
    if identity_needed and not _ok(layers["identity"]):
        checks.append(IDENTITY_NO_ALLOW)
    if not _ok(layers["permissions_boundary"]):
        checks.append(BOUNDARY_NO_ALLOW)
    if not _ok(layers["session"]):
        checks.append(SESSION_NO_ALLOW)
    return checks


def _overlays(
    caller: Caller, key_account: str | None, aws_managed: bool, action: str, context: Context
) -> list[Check]:
    cross = caller.account is not None and key_account is not None and caller.account != key_account
    checks: list[Check] = []
    if aws_managed and cross:
        checks.append(
            Check(
                "key_policy",
                "no_allow",
                reason="aws_managed_cross_account",
                explain="an AWS managed key cannot be used from another account",
            )
        )
    if aws_managed and "kms:viaservice" not in context.values:
        checks.append(
            Check(
                "key_policy",
                "no_allow",
                reason="aws_managed_direct_use",
                explain="an AWS managed key can be used only through the AWS service that owns it",
            )
        )
    if cross and action.startswith("kms:") and action not in CROSS_ACCOUNT_OPERATIONS:
        checks.append(
            Check(
                "key_policy",
                "no_allow",
                reason="not_cross_account_capable",
                explain=f"{action} cannot be used on a key in another account",
            )
        )
    return checks


def _same_account_paths(layers: dict[PolicyType, Layer], key_ok: bool, verdict: Verdict) -> list[Check]:
    key_classes = layers["key_policy"].classes
    grant_ok = _grant_direct(layers)
    paths: list[tuple[str, list[Check]]] = []
    if key_classes & {"direct", "service"}:
        paths.append(("direct", []))
    if key_classes & {"role", "any"}:
        paths.append(
            ("role" if "role" in key_classes else "any", _caller_side(layers, identity_needed=False))
        )
    if grant_ok:
        paths.append(("grant", []))
    if "account" in key_classes or "account" in layers["grants"].classes or not key_ok:
        paths.append(("account", _caller_side(layers, identity_needed=True)))
    name, checks = min(paths, key=lambda path: len(path[1]))
    limited = layers["permissions_boundary"].applies or layers["session"].applies
    if name == "any" and limited:
        verdict.notes.append(
            'unverified: a key-policy Allow through Principal "*" is treated like a grant to the role ARN, '
            "so the permissions boundary and session policy limit it"
        )
    if name == "grant" and _caller_side(layers, identity_needed=False):
        verdict.notes.append(
            "unverified: a grant allows the request although the permissions boundary or session policy "
            "does not; how grants combine with these is not documented"
        )
    return checks


def decide(
    layers: dict[PolicyType, Layer],
    caller: Caller,
    key_account: str | None,
    aws_managed: bool,
    action: str,
    context: Context,
) -> Verdict:
    verdict = Verdict("allow")
    checks = verdict.checks
    for kind in DENY_ORDER:
        layer = layers[kind]
        if layer.applies:
            checks.extend(
                Check(kind, "explicit_deny", hit.statement, hit.policy_index, hit.level, "explicit deny")
                for hit in layer.deny_hits
            )
    explicit = bool(checks)
    for kind in ("rcp", "scp"):
        layer = layers[kind]
        if layer.applies:
            checks.extend(
                Check(
                    kind,
                    "no_allow",
                    level=level,
                    explain=f"no {kind.upper()} at level {level} allows the action",
                )
                for level in layer.failing_levels
            )
    if not _ok(layers["vpc_endpoint"]):
        checks.append(VPCE_NO_ALLOW)
    key_ok = bool(layers["key_policy"].classes) or layers["grants"].allows is True
    checks.extend(_overlays(caller, key_account, aws_managed, action, context))
    if not key_ok:
        checks.append(KEY_NO_ALLOW)
    cross = caller.account is not None and key_account is not None and caller.account != key_account
    if cross:
        grant_ok = _grant_direct(layers)
        caller_checks = _caller_side(layers, identity_needed=not grant_ok)
        if grant_ok and not _ok(layers["identity"]):
            verdict.notes.append("unverified: a grant stands in for the identity policy on the caller's side")
        checks.extend(caller_checks)
    else:
        checks.extend(_same_account_paths(layers, key_ok, verdict))
    if explicit:
        verdict.decision = "explicit_deny"
    elif checks:
        verdict.decision = "implicit_deny"
    return verdict
