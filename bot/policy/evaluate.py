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
With `request.unknown_keys`, evaluation is three-valued (`bot.policy.unknowns`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from bot.policy import grants, memo, policies, result_cache
from bot.policy.arn import account_of
from bot.policy.combine import decide
from bot.policy.context import build_context
from bot.policy.document import PolicyError
from bot.policy.grants import Grant, parse_grant
from bot.policy.layers import Layer, Request, grants_layer, levels_layer, policy_layer
from bot.policy.policies import CompiledPolicy, compile_policy
from bot.policy.principals import Caller, CallerError, classify_caller, with_role_path
from bot.policy.results import Run, build_result
from bot.policy.simulation import Json, PolicyType, SimulationDocument, SimulationResult
from bot.policy.statements import PolicyKind
from bot.policy.unknowns import three_valued


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
    principal_arn = resource_account = None
    for name, value in doc.request.context.items():
        # The last spelling wins, as it would in a dict keyed by the lower-cased names.
        lower = name.lower()
        if lower == "aws:principalarn":
            principal_arn = value
        elif lower == "aws:resourceaccount":
            resource_account = value
    caller = with_role_path(caller, principal_arn)
    key_account = account_of(doc.request.resource)
    if key_account is None:
        key_account = resource_account if isinstance(resource_account, str) else caller.account
    kinds: tuple[tuple[str, Json | None, PolicyKind], ...] = (
        ("permissions_boundary", doc.permissions_boundary, "identity"),
        ("session_policy", doc.session_policy, "identity"),
        ("key_policy", doc.key_policy, "key_policy"),
        ("vpc_endpoint_policy", doc.vpc_endpoint_policy, "vpc_endpoint"),
    )
    optional = {
        name: None if raw is None else compile_policy(raw, (name,), kind) for name, raw, kind in kinds
    }
    return Prepared(
        doc=doc,
        caller=caller,
        key_account=key_account,
        identity=[
            compile_policy(raw, ("identity_policies", i), "identity")
            for i, raw in enumerate(doc.identity_policies)
        ],
        boundary=optional["permissions_boundary"],
        session=optional["session_policy"],
        scps=[
            [compile_policy(raw, ("scps", lv, i), "identity") for i, raw in enumerate(level)]
            for lv, level in enumerate(doc.scps)
        ],
        rcps=[
            [compile_policy(raw, ("rcps", lv, i), "rcp") for i, raw in enumerate(level)]
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


def _run(prepared: Prepared, given: dict[str, Any], absent: frozenset[str], explain: bool = True) -> Run:
    doc = prepared.doc
    context = build_context(given, prepared.caller, prepared.key_account, absent)
    has_boundary = prepared.boundary is not None and prepared.caller.kind in (
        "user",
        "role",
        "session",
        "fedsession",
    )
    request = Request(
        prepared.caller, doc.request.action, doc.request.resource, context, has_boundary, explain
    )
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


def clear_caches() -> None:
    """Forget every compiled policy, plan, shared result object and cached result (for tests that check
    that a warm engine answers exactly as a cold one)."""
    policies._CACHE.clear()
    policies._BY_OBJECT.clear()
    grants._GRANTS.clear()
    memo._TABLE.clear()
    memo._LAYERS.clear()
    result_cache._RESULTS.clear()
    classify_caller.cache_clear()


def evaluate(doc: SimulationDocument, explain: bool = True) -> SimulationResult:
    """Evaluate one simulation document. Raises `PolicyError` (a `UserError`) for malformed input.

    `explain=False` leaves `misses` empty (every other field is the same): for callers that do not read
    why statements failed, such as `kms-why simulate`, whose output is decision, failing checks and
    matched statements. The diagnosis reads `misses`: it keeps the default.

    Policy dicts must not be mutated once evaluated (compiled policies are cached by identity)."""
    prepared = prepare(doc)
    key = result_cache.result_key(prepared)
    if key is not None:
        key = (*key, explain)
    cached = result_cache.recall(key)
    if cached is not None:
        return cached
    if doc.request.unknown_keys:
        runner = functools.partial(_run, prepared, explain=explain)
        result = three_valued(doc.request, prepared.policies(), prepared.grants, runner)
    else:
        result = build_result(_run(prepared, doc.request.context, frozenset(), explain), set(), (), [])
    return result_cache.remember(key, result)
