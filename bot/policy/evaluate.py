"""`evaluate(SimulationDocument) -> SimulationResult`: the engine's public entry point.

Layer applicability (§2 D):
- `identity`: IAM users, roles, sessions, federated users and the account root user (which needs no
  policy: its identity side always allows, though a Deny given for it still counts);
- `key_policy`: always (no key policy = nothing allows); `grants`: when grants are given;
- `scp`: for principals of member accounts, not for the management account, service-linked roles,
  service principals or anonymous callers (§2.23);
- `rcp`: for keys outside the management account, not AWS managed keys, not `kms:RetireGrant`, not
  service-linked roles (unverified, §2.24); RCPFullAWSAccess is implicit at every level;
- `permissions_boundary`: when given, for users, roles, sessions and federated users;
- `session`: when given, for sessions (and a role ARN as caller); always for a federated-user session,
  where no session policy means no allow (§1.1 step 7);
- `vpc_endpoint`: when given.
Every layer appears in `SimulationResult.layers`, with `applies` False (and `allows` None) when it does
not apply. The key's account is the resource ARN's, else `aws:ResourceAccount`, else the caller's.

Three-valued evaluation (§2.18, §2.38): each key in `request.unknown_keys` is tried absent, with every
value a policy condition (or grant constraint) compares it to, and with some other value (reported as
`*`). All combinations are evaluated (one key at a time when there would be more than 64). When they
disagree, `decided_by_unknown` is True, `decision` is the least favourable outcome (the engine never
claims `allow` that depends on a guess), the other fields describe the first combination giving it
(trying "absent" first), a layer whose answer varies has `allows` None, and `unknowns` lists each key
that changes the outcome with the values (`allow_if`) or absence (`allow_if_absent`) that allow.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.policy import memo
from bot.policy.arn import account_of
from bot.policy.combine import DENY_ORDER, Check, Verdict, decide
from bot.policy.conditions import parse_date, parse_number
from bot.policy.context import EC_PREFIX, build_context
from bot.policy.document import PolicyError
from bot.policy.grants import Grant, parse_grant
from bot.policy.layers import Layer, Request, grants_layer, levels_layer, policy_layer
from bot.policy.principals import Caller, CallerError, classify_caller, with_role_path
from bot.policy.simulation import (
    Json,
    LayerResult,
    PolicyType,
    SimulationDocument,
    SimulationResult,
    Unknown,
)
from bot.policy.statements import CompiledPolicy, PolicyKind, compile_policy

LAYER_ORDER: tuple[PolicyType, ...] = (
    "identity",
    "key_policy",
    "grants",
    "scp",
    "rcp",
    "permissions_boundary",
    "session",
    "vpc_endpoint",
)
_RANK = {"allow": 0, "implicit_deny": 1, "explicit_deny": 2}
_OTHER = "\x00other"
_ABSENT: Any = object()
_MAX_COMBINATIONS = 64


@dataclass(frozen=True, slots=True)
class Prepared:
    doc: SimulationDocument
    caller: Caller
    key_account: str | None
    identity: list[CompiledPolicy]
    boundary: CompiledPolicy | None
    session: CompiledPolicy | None
    scps: list[list[CompiledPolicy]]
    rcps: list[list[CompiledPolicy]]
    key_policy: CompiledPolicy | None
    grants: list[Grant]
    vpc_endpoint: CompiledPolicy | None

    def policies(self) -> list[CompiledPolicy]:
        found = [*self.identity, *(p for level in self.scps + self.rcps for p in level)]
        found += [
            p for p in (self.boundary, self.session, self.key_policy, self.vpc_endpoint) if p is not None
        ]
        return found


def prepare(doc: SimulationDocument) -> Prepared:
    try:
        caller = classify_caller(doc.request.principal)
    except CallerError as error:
        raise PolicyError(f"request.principal: {error}") from None
    lowered = {k.lower(): v for k, v in doc.request.context.items()} if doc.request.context else {}
    caller = with_role_path(caller, lowered.get("aws:principalarn"))
    key_account = account_of(doc.request.resource)
    if key_account is None:
        given = lowered.get("aws:resourceaccount")
        key_account = given if isinstance(given, str) else caller.account
    kinds: tuple[tuple[str, Json | None, PolicyKind], ...] = (
        ("permissions_boundary", doc.permissions_boundary, "identity"),
        ("session_policy", doc.session_policy, "identity"),
        ("key_policy", doc.key_policy, "key_policy"),
        ("vpc_endpoint_policy", doc.vpc_endpoint_policy, "vpc_endpoint"),
    )
    optional = {name: None if raw is None else compile_policy(raw, name, kind) for name, raw, kind in kinds}
    return Prepared(
        doc=doc,
        caller=caller,
        key_account=key_account,
        identity=[
            compile_policy(raw, f"identity_policies[{i}]", "identity")
            for i, raw in enumerate(doc.identity_policies)
        ],
        boundary=optional["permissions_boundary"],
        session=optional["session_policy"],
        scps=[
            [compile_policy(raw, f"scps[{lv}][{i}]", "identity") for i, raw in enumerate(level)]
            for lv, level in enumerate(doc.scps)
        ],
        rcps=[
            [compile_policy(raw, f"rcps[{lv}][{i}]", "rcp") for i, raw in enumerate(level)]
            for lv, level in enumerate(doc.rcps)
        ],
        key_policy=optional["key_policy"],
        grants=[parse_grant(raw, i) for i, raw in enumerate(doc.grants)],
        vpc_endpoint=optional["vpc_endpoint_policy"],
    )


def _layers(prepared: Prepared, request: Request) -> dict[PolicyType, Layer]:
    doc, caller = prepared.doc, prepared.caller
    iam = caller.kind in ("user", "role", "session", "fedsession")
    management = doc.management_account
    action = doc.request.action.lower()
    layers: dict[PolicyType, Layer] = {
        "identity": policy_layer("identity", prepared.identity, request, iam or caller.kind == "root"),
        "key_policy": policy_layer(
            "key_policy", [] if prepared.key_policy is None else [prepared.key_policy], request, True
        ),
        "grants": grants_layer(prepared.grants, request),
        "scp": levels_layer(
            "scp",
            prepared.scps,
            request,
            bool(prepared.scps)
            and (iam or caller.kind == "root")
            and not caller.is_service_linked
            and (management is None or caller.account != management),
            implicit_allow=False,
        ),
        "rcp": levels_layer(
            "rcp",
            prepared.rcps,
            request,
            bool(prepared.rcps)
            and doc.key.manager != "AWS"
            and action != "kms:retiregrant"
            and not caller.is_service_linked
            and (management is None or prepared.key_account != management),
            implicit_allow=True,
        ),
        "permissions_boundary": policy_layer(
            "permissions_boundary",
            [p for p in (prepared.boundary,) if p],
            request,
            iam and prepared.boundary is not None,
        ),
        "session": policy_layer(
            "session",
            [p for p in (prepared.session,) if p],
            request,
            caller.kind == "fedsession"
            or (caller.kind in ("role", "session") and prepared.session is not None),
        ),
        "vpc_endpoint": policy_layer(
            "vpc_endpoint",
            [p for p in (prepared.vpc_endpoint,) if p],
            request,
            prepared.vpc_endpoint is not None,
        ),
    }
    if caller.kind == "root":
        layers["identity"].allows = True
    return layers


@dataclass(slots=True)
class Run:
    layers: dict[PolicyType, Layer]
    verdict: Verdict


def _run(prepared: Prepared, given: dict[str, Any], absent: frozenset[str]) -> Run:
    doc = prepared.doc
    context = build_context(given, prepared.caller, prepared.key_account, absent)
    has_boundary = prepared.boundary is not None and prepared.caller.kind in (
        "user",
        "role",
        "session",
        "fedsession",
    )
    request = Request(prepared.caller, doc.request.action, doc.request.resource, context, has_boundary)
    layers = _layers(prepared, request)
    notes: list[str] = []
    if doc.key.state != "Enabled":
        notes.append(
            f"the key is {doc.key.state}: KMS refuses the request whatever the policies say; "
            "that is a key-state problem, not an authorization failure (§2.5)"
        )
    if doc.session_policy is not None and not layers["session"].applies:
        notes.append("the session policy was ignored: the caller is not a role session or federated user")
    verdict = decide(
        layers,
        prepared.caller,
        prepared.key_account,
        doc.key.manager == "AWS",
        doc.request.action.lower(),
        context,
    )
    verdict.notes.extend(notes)
    return Run(layers, verdict)


_NOT_APPLYING = {kind: LayerResult(layer=kind, applies=False, allows=None) for kind in LAYER_ORDER}


def _layer_result(kind: PolicyType, layer: Layer, varying: set[PolicyType]) -> LayerResult:
    if not layer.applies:
        return _NOT_APPLYING[kind]
    return LayerResult(
        layer=kind,
        applies=True,
        allows=None if kind in varying else layer.allows,
        explicit_deny=layer.explicit_deny,
        matched=(*layer.deny_hits, *layer.allow_hits),
    )


def _result(
    run: Run, varying: set[PolicyType], unknowns: tuple[Unknown, ...], notes: list[str]
) -> SimulationResult:
    layers, verdict = run.layers, run.verdict
    if verdict.decision == "explicit_deny":
        decided = [hit for kind in DENY_ORDER if layers[kind].applies for hit in layers[kind].deny_hits]
    else:
        decided = [hit for kind in LAYER_ORDER if layers[kind].applies for hit in layers[kind].allow_hits]
    return SimulationResult(
        decision=verdict.decision,
        failing_checks=tuple(memo.failing_check(astuple_check(check)) for check in verdict.checks),
        matched=tuple(decided),
        layers=tuple(_layer_result(kind, layers[kind], varying) for kind in LAYER_ORDER),
        misses=tuple(miss for kind in LAYER_ORDER if layers[kind].applies for miss in layers[kind].misses),
        unknowns=unknowns,
        decided_by_unknown=bool(unknowns),
        notes=tuple(dict.fromkeys([*verdict.notes, *notes])),
    )


def astuple_check(check: Check) -> tuple[Any, ...]:
    return (
        check.policy_type,
        check.kind,
        check.statement,
        check.policy_index,
        check.level,
        check.explain,
        check.reason,
    )


def _candidates(prepared: Prepared, key_lower: str) -> list[Any]:
    values: list[Any] = [_ABSENT]
    for policy in prepared.policies():
        values.extend(policy.condition_values(key_lower))
    if key_lower.startswith(EC_PREFIX):
        name = key_lower[len(EC_PREFIX) :]
        for grant in prepared.grants:
            for constraint in (grant.equals or {}, grant.subset or {}):
                values.extend(v for k, v in constraint.items() if k.lower() == name)
    values.extend(_neighbours(values[1:]))
    values.append(_OTHER)
    return list(dict.fromkeys(values))


def _neighbours(values: list[Any]) -> list[str]:
    """Just below and above each number or date a policy compares with, so that Numeric*/Date*
    conditions on an unknown key get a value on either side of their bound."""
    found: list[str] = []
    for value in values:
        number = parse_number(value)
        if number is None:
            moment = parse_date(value)
            if moment is not None:
                found += [_stamp(moment - 1), _stamp(moment + 1)]
        elif number == int(number):
            found += [str(int(number) - 1), str(int(number) + 1)]
        else:
            found += [repr(number - 0.001), repr(number + 0.001)]
    return found


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _assignments(choices: list[list[Any]]) -> list[tuple[Any, ...]]:
    total = 1
    for options in choices:
        total *= len(options)
    if total <= _MAX_COMBINATIONS:
        return list(itertools.product(*choices))
    rows: list[tuple[Any, ...]] = [tuple(_ABSENT for _ in choices)]
    for position, options in enumerate(choices):
        for value in options[1:]:
            row = [_ABSENT] * len(choices)
            row[position] = value
            rows.append(tuple(row))
    return rows


def _three_valued(prepared: Prepared) -> SimulationResult:
    request = prepared.doc.request
    keys = list(dict.fromkeys(request.unknown_keys))
    lowers = [key.lower() for key in keys]
    choices = [_candidates(prepared, lower) for lower in lowers]
    runs: list[tuple[tuple[Any, ...], Run]] = []
    for row in _assignments(choices):
        given = {k: v for k, v in request.context.items() if k.lower() not in lowers}
        absent = frozenset(lower for lower, value in zip(lowers, row, strict=True) if value is _ABSENT)
        for key, value in zip(keys, row, strict=True):
            if value is not _ABSENT:
                given[key] = value
        runs.append((row, _run(prepared, given, absent)))
    decisions = {run.verdict.decision for _, run in runs}
    worst = max(decisions, key=_RANK.__getitem__)
    chosen = next(run for _, run in runs if run.verdict.decision == worst)
    if len(decisions) == 1:
        return _result(chosen, set(), (), [])
    varying = {kind for kind in LAYER_ORDER if len({run.layers[kind].allows for _, run in runs}) > 1}
    unknowns: list[Unknown] = []
    for position, key in enumerate(keys):
        by_value: dict[Any, set[str]] = {}
        for row, run in runs:
            by_value.setdefault(row[position], set()).add(run.verdict.decision)
        if len({frozenset(found) for found in by_value.values()}) <= 1:
            continue
        allow_if = tuple(
            "*" if v is _OTHER else str(v)
            for v, found in by_value.items()
            if v is not _ABSENT and "allow" in found
        )
        unknowns.append(
            Unknown(key=key, allow_if=allow_if, allow_if_absent="allow" in by_value.get(_ABSENT, set()))
        )
    names = ", ".join(unknown.key for unknown in unknowns) or ", ".join(keys)
    note = f"the decision depends on context the request did not give: {names}"
    result = _result(chosen, varying, tuple(unknowns), [note])
    return result.model_copy(update={"decided_by_unknown": True})


def evaluate(doc: SimulationDocument) -> SimulationResult:
    """Evaluate one simulation document. Raises `PolicyError` (a `UserError`) for malformed input."""
    prepared = prepare(doc)
    if doc.request.unknown_keys:
        return _three_valued(prepared)
    return _result(_run(prepared, doc.request.context, frozenset()), set(), (), [])
