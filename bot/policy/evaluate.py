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
not apply. With `request.unknown_keys`, evaluation is three-valued (`bot.policy.unknowns`).
"""

from __future__ import annotations

from typing import Any

from bot.policy import grants, layers, memo, outcomes, policies, result_cache
from bot.policy.combine import Verdict, decide
from bot.policy.context import Context, complete_context, read_context, with_values
from bot.policy.layers import Layer, grants_layer, levels_layer, policy_layer
from bot.policy.outcomes import Outcome, Request
from bot.policy.policies import CompiledPolicy
from bot.policy.prepare import Prepared, prepare
from bot.policy.principals import classify_caller
from bot.policy.results import LAYER_ORDER, Decided, Run, build_result
from bot.policy.simulation import PolicyType, SimulationDocument, SimulationResult
from bot.policy.unknowns import three_valued

_IAM = frozenset(("user", "role", "session", "fedsession"))
_NONE: tuple[Outcome, ...] = ()


def _request(prepared: Prepared, context: Context, explain: bool) -> Request:
    caller = prepared.caller
    has_boundary = prepared.boundary is not None and caller.kind in _IAM
    doc_request = prepared.doc.request
    return Request(caller, doc_request.action, doc_request.resource, context, has_boundary, explain)


def _outcomes(
    kind: PolicyType, found: list[CompiledPolicy], request: Request, level: int | None = None
) -> tuple[Outcome, ...]:
    if len(found) == 1:
        return (found[0].outcome(kind, 0, level, request),)
    return tuple([policy.outcome(kind, index, level, request) for index, policy in enumerate(found)])


def _one(kind: PolicyType, policy: CompiledPolicy | None, request: Request) -> tuple[Outcome, ...]:
    return _NONE if policy is None else (policy.outcome(kind, 0, None, request),)


def _layers(prepared: Prepared, request: Request) -> tuple[Layer, ...]:
    """The eight layers, in `LAYER_ORDER`."""
    doc, caller = prepared.doc, prepared.caller
    iam = caller.kind in _IAM
    root = caller.kind == "root"
    management = doc.management_account
    scp_applies = (
        bool(prepared.scps)
        and (iam or root)
        and not caller.is_service_linked
        and (management is None or caller.account != management)
    )
    rcp_applies = (
        bool(prepared.rcps)
        and doc.key.manager != "AWS"
        and request.action.lower() != "kms:retiregrant"
        and not caller.is_service_linked
        and (management is None or prepared.key_account != management)
    )
    session_applies = caller.kind == "fedsession" or (
        caller.kind in ("role", "session") and prepared.session is not None
    )
    scps = (
        tuple(_outcomes("scp", level, request, n) for n, level in enumerate(prepared.scps))
        if scp_applies
        else ()
    )
    rcps = (
        tuple(_outcomes("rcp", level, request, n) for n, level in enumerate(prepared.rcps))
        if rcp_applies
        else ()
    )
    boundary = iam and prepared.boundary is not None
    return (
        policy_layer(
            "identity",
            _outcomes("identity", prepared.identity, request) if iam or root else _NONE,
            iam or root,
            root,
        ),
        policy_layer("key_policy", _one("key_policy", prepared.key_policy, request), True),
        grants_layer(prepared.grants, request),
        levels_layer("scp", scps, scp_applies, implicit_allow=False),
        levels_layer("rcp", rcps, rcp_applies, implicit_allow=True),
        policy_layer(
            "permissions_boundary",
            _one("permissions_boundary", prepared.boundary if boundary else None, request),
            boundary,
        ),
        policy_layer(
            "session",
            _one("session", prepared.session if session_applies else None, request),
            session_applies,
        ),
        policy_layer(
            "vpc_endpoint",
            _one("vpc_endpoint", prepared.vpc_endpoint, request),
            prepared.vpc_endpoint is not None,
        ),
    )


def _notes(prepared: Prepared, found: dict[PolicyType, Layer]) -> list[str]:
    doc = prepared.doc
    notes: list[str] = []
    if doc.key.state != "Enabled":
        notes.append(
            f"the key is {doc.key.state}: KMS refuses the request whatever the policies say; "
            "that is a key-state problem, not an authorization failure (§2.5)"
        )
    if doc.session_policy is not None and not found["session"].applies:
        notes.append("the session policy was ignored: the caller is not a role session or federated user")
    return notes


def _verdict(prepared: Prepared, found: dict[PolicyType, Layer], request: Request) -> Verdict:
    verdict = decide(
        found,
        prepared.caller,
        prepared.key_account,
        prepared.doc.key.manager == "AWS",
        request.action.lower(),
        request.context,
    )
    verdict.notes.extend(_notes(prepared, found))
    return verdict


# (the facts `decide` and `_notes` read of the request, each layer's `verdict_key`) → the verdict.
_VERDICTS: dict[tuple[Any, ...], Decided] = {}
_VERDICTS_LIMIT = 20_000


def _run(prepared: Prepared, context: Context, explain: bool) -> Run:
    """One evaluation of the document with `context` (complete: what is implied included)."""
    request = _request(prepared, context, explain)
    found = _layers(prepared, request)
    caller, key_account, doc = prepared.caller, prepared.key_account, prepared.doc
    identity, key_policy, grant, scp, rcp, boundary, session, vpc_endpoint = found
    key = (
        caller.account is not None and key_account is not None and caller.account != key_account,
        doc.key.manager,
        doc.key.state,
        request.action.lower(),
        "kms:viaservice" in request.context.values,
        doc.session_policy is not None,
        identity.verdict_key,
        key_policy.verdict_key,
        grant.verdict_key,
        scp.verdict_key,
        rcp.verdict_key,
        boundary.verdict_key,
        session.verdict_key,
        vpc_endpoint.verdict_key,
    )
    decided = _VERDICTS.get(key)
    if decided is None:
        decided = Decided(_verdict(prepared, dict(zip(LAYER_ORDER, found, strict=True)), request))
        if len(_VERDICTS) >= _VERDICTS_LIMIT:
            _VERDICTS.clear()
        _VERDICTS[key] = decided
    return Run(found, decided)


def clear_caches() -> None:
    """Forget every compiled policy, plan, outcome, layer and result (for tests that check that a warm
    engine answers exactly as a cold one)."""
    policies._CACHE.clear()
    policies._BY_OBJECT.clear()
    grants._GRANTS.clear()
    memo._TABLE.clear()
    memo._LAYERS.clear()
    layers.clear()
    outcomes.clear()
    _VERDICTS.clear()
    result_cache._RESULTS.clear()
    classify_caller.cache_clear()


def evaluate(doc: SimulationDocument, explain: bool = True) -> SimulationResult:
    """Evaluate one simulation document. Raises `PolicyError` (a `UserError`) for malformed input.

    `explain=False` leaves `misses` empty (every other field is the same): for callers that do not read
    why statements failed, such as `kms-why simulate`, whose output is decision, failing checks and
    matched statements. The diagnosis reads `misses`: it keeps the default.

    Policy dicts must not be mutated once evaluated (compiled policies are cached by identity)."""
    prepared = prepare(doc)
    if doc.request.unknown_keys:
        return _three_valued(prepared, explain)
    context = complete_context(prepared.context, prepared.caller, prepared.key_account, frozenset())
    return build_result(_run(prepared, context, explain))


def _three_valued(prepared: Prepared, explain: bool) -> SimulationResult:
    """Repeated three-valued documents are common (the diagnosis asks again with what it learnt) and
    each costs several runs: their results are cached by everything they depend on."""
    key = result_cache.result_key(prepared)
    if key is not None:
        key = (*key, explain)
    cached = result_cache.recall(key)
    if cached is not None:
        return cached
    request = prepared.doc.request
    # The context without the unknown keys, read once; each run adds the values it tries.
    base = read_context(request.context, frozenset(key.lower() for key in request.unknown_keys))

    def run(assigned: dict[str, Any], absent: frozenset[str]) -> Run:
        context = complete_context(with_values(base, assigned), prepared.caller, prepared.key_account, absent)
        return _run(prepared, context, explain)

    result = three_valued(request, prepared.policies(), prepared.grants, run)
    return result_cache.remember(key, result)
