"""A simulation document made ready to evaluate: the caller classified, the key's account found, every
policy compiled (or fetched from the compiled-policy caches) and every grant read.

The key's account is the resource ARN's, else `aws:ResourceAccount`, else the caller's. A session's role
path comes from a given `aws:PrincipalArn` naming the same role (`with_role_path`).
"""

from __future__ import annotations

from bot.policy.arn import account_of
from bot.policy.context import read_context
from bot.policy.document import PolicyError
from bot.policy.grants import Grant, parse_grant
from bot.policy.policies import CompiledPolicy, compile_policy, recall
from bot.policy.principals import Caller, CallerError, classify_caller, with_role_path
from bot.policy.simulation import Json, SimulationDocument
from bot.policy.statements import PolicyKind


class Prepared:
    """Plain slots (not a frozen dataclass): built once per evaluation, where every microsecond counts."""

    __slots__ = (
        "boundary",
        "caller",
        "context",
        "doc",
        "grants",
        "identity",
        "key_account",
        "key_policy",
        "rcps",
        "scps",
        "session",
        "vpc_endpoint",
    )

    def __init__(self, doc: SimulationDocument, caller: Caller) -> None:
        self.doc = doc
        self.caller = caller
        self.key_account: str | None = None
        # `recall` first: the common case (policies compiled before) without building `where`.
        self.identity = [
            recall(raw, "identity") or compile_policy(raw, ("identity_policies", i), "identity")
            for i, raw in enumerate(doc.identity_policies)
        ]
        self.boundary = _optional(doc.permissions_boundary, "permissions_boundary", "identity")
        self.session = _optional(doc.session_policy, "session_policy", "identity")
        self.key_policy = _optional(doc.key_policy, "key_policy", "key_policy")
        self.vpc_endpoint = _optional(doc.vpc_endpoint_policy, "vpc_endpoint_policy", "vpc_endpoint")
        self.scps: list[list[CompiledPolicy]] = [
            [
                recall(raw, "identity") or compile_policy(raw, ("scps", lv, i), "identity")
                for i, raw in enumerate(level)
            ]
            for lv, level in enumerate(doc.scps)
        ]
        self.rcps: list[list[CompiledPolicy]] = [
            [recall(raw, "rcp") or compile_policy(raw, ("rcps", lv, i), "rcp") for i, raw in enumerate(level)]
            for lv, level in enumerate(doc.rcps)
        ]
        self.grants: list[Grant] = [parse_grant(raw, i) for i, raw in enumerate(doc.grants)]
        # The given context, read once (names lower-cased, values normalised); completed by `evaluate`.
        self.context = read_context(doc.request.context, frozenset())

    def policies(self) -> list[CompiledPolicy]:
        found = [*self.identity, *(p for level in self.scps + self.rcps for p in level)]
        found += [
            p for p in (self.boundary, self.session, self.key_policy, self.vpc_endpoint) if p is not None
        ]
        return found


def _optional(raw: Json | None, name: str, kind: PolicyKind) -> CompiledPolicy | None:
    if raw is None:
        return None
    return recall(raw, kind) or compile_policy(raw, (name,), kind)


def prepare(doc: SimulationDocument) -> Prepared:
    request = doc.request
    try:
        caller = classify_caller(request.principal)
    except CallerError as error:
        raise PolicyError(f"request.principal: {error}") from None
    prepared = Prepared(doc, caller)
    principal_arn = resource_account = None
    if "aws:principalarn" in prepared.context.values or "aws:resourceaccount" in prepared.context.values:
        for name, value in request.context.items():
            # The last spelling wins, as it does in the context read with lower-cased names.
            lower = name.lower()
            if lower == "aws:principalarn":
                principal_arn = value
            elif lower == "aws:resourceaccount":
                resource_account = value
    if principal_arn is not None:
        prepared.caller = caller = with_role_path(caller, principal_arn)
    key_account = account_of(request.resource)
    if key_account is None:
        key_account = resource_account if isinstance(resource_account, str) else caller.account
    prepared.key_account = key_account
    return prepared
