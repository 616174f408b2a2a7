"""Collect everything one denial needs from the live accounts, concurrently, into a `Snapshot`.

The critical path, cold: AssumeRole (every account at once) → the entity, its policy lists and the
key's policy, grants, metadata (all at once) → the policy bodies → GetPolicyVersion. Warm (reader
credentials and policy versions cached) the first and last stages vanish. Organization paths take
one more call per OU level, cold. `aws_calls` and `round_trips` record what an analysis took.

A read that fails becomes an `Unseen` (what, why, and the statement that would let the reader role
see it); a redacted account id means no call for that account at all.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bot.aws.actions import BASE_ACTIONS, ORG_ACTIONS, READER_ACTIONS, WRITER_ACTIONS
from bot.aws.cloudtrail import lookup_denied_call
from bot.aws.endpoints import endpoint_in, read_endpoint_policy
from bot.aws.keys import KeyReader, KeyRef, key_ref
from bot.aws.org import read_org
from bot.aws.principals import Caller, read_principal, unread_principal
from bot.aws.sessions import AccountSession, AssumeRoleError, SessionFactory
from bot.aws.target import redaction, target_of
from bot.aws.trace import Trace, gather, tracing
from bot.aws.unseen import distinct
from bot.parse.models import Denial
from bot.settings import Settings
from bot.snapshot import (
    Json,
    KeyFacts,
    NamedPolicy,
    OrgFacts,
    PrincipalFacts,
    Snapshot,
    TrailEvidence,
    Unseen,
)

__all__ = ["BASE_ACTIONS", "ORG_ACTIONS", "READER_ACTIONS", "WRITER_ACTIONS", "collect", "redaction"]

MAX_WORKERS = 32
_ORG_LAYERS = {
    "no_scp_allow": "scp",
    "explicit_deny_scp": "scp",
    "no_rcp_allow": "rcp",
    "explicit_deny_rcp": "rcp",
}


@dataclass
class _Found:
    principal: PrincipalFacts | None = None
    key: KeyFacts | None = None
    org: OrgFacts | None = None
    trail: TrailEvidence | None = None
    endpoint: NamedPolicy | None = None
    unseen: list[Unseen] = field(default_factory=list)


def _assume_failed(layers: tuple[str, ...], error: AssumeRoleError, sessions: SessionFactory) -> list[Unseen]:
    """What a failed AssumeRole leaves unseen, and (when denied) the trust statement that would help."""
    reason = f"AssumeRole {error.role_arn} failed: {error.code}: {error.message}"
    remedy: str | None = None
    statement: Json | None = None
    if error.code.startswith("AccessDenied"):
        bot_identity = sessions.base_identity_arn()
        reason += (
            f". Either the role does not exist in that account or its trust policy does not let "
            f"{bot_identity or 'the bot'} assume it"
        )
        remedy = "create the role (deploy/iam) in that account, or add this statement to its trust policy"
        statement = {
            "Effect": "Allow",
            "Principal": {"AWS": bot_identity or "<the kms-why bot's role ARN>"},
            "Action": "sts:AssumeRole",
        }
        if sessions.settings.reader_external_id:
            statement["Condition"] = {
                "StringEquals": {"sts:ExternalId": sessions.settings.reader_external_id}
            }
    elif error.code == "NoCredentials":
        reason += ". The bot itself has no AWS credentials (environment, profile, IRSA or instance role)"
        remedy = "give the kms-why process AWS credentials allowed to assume the reader role"
    return [Unseen(what=layer, reason=reason, remedy=remedy, remedy_statement=statement) for layer in layers]


class _Collector:
    def __init__(
        self, denial: Denial, settings: Settings, request_id: str, sessions: SessionFactory, pool: Executor
    ) -> None:
        self.denial = denial
        self.settings = settings
        self.request_id = request_id
        self.sessions = sessions
        self.pool = pool

    def session(self, account: str) -> AccountSession | AssumeRoleError:
        try:
            return self.sessions.reader(account, self.request_id)
        except AssumeRoleError as error:
            return error

    def org_session(self) -> AccountSession | AssumeRoleError | None:
        try:
            return self.sessions.org_reader(self.request_id)
        except AssumeRoleError as error:
            return error

    def principal_side(self, caller: Caller, session: AccountSession | AssumeRoleError | None) -> _Found:
        if session is None:
            facts, unseen = unread_principal(caller)
        elif isinstance(session, AssumeRoleError):
            facts, _ = unread_principal(caller, reason="assume failed")
            unseen = _assume_failed(("identity",), session, self.sessions)
        else:
            facts, unseen = read_principal(session, self.pool, caller)
        return _Found(principal=facts, unseen=unseen)

    def key_side(self, ref: KeyRef, assumed: AccountSession | AssumeRoleError | None = None) -> _Found:
        session = assumed or self.session(ref.account)
        if isinstance(session, AssumeRoleError):
            return _Found(unseen=_assume_failed(("key_policy", "grants"), session, self.sessions))
        facts, unseen = KeyReader(session, self.pool).read(ref)
        return _Found(key=facts, unseen=unseen)

    def org_side(
        self,
        session: AccountSession | AssumeRoleError | None,
        principal_account: str | None,
        key_account: str | None,
    ) -> _Found:
        if session is None or not (principal_account or key_account):
            return _Found()
        if isinstance(session, AssumeRoleError):
            layers = tuple(
                layer for layer, acct in (("scp", principal_account), ("rcp", key_account)) if acct
            )
            return _Found(unseen=_assume_failed(layers, session, self.sessions))
        facts, unseen = read_org(
            session, self.pool, principal_account=principal_account, key_account=key_account
        )
        return _Found(org=facts, unseen=unseen)

    def trail_side(
        self, session: AccountSession | AssumeRoleError | None, ref: KeyRef | None = None
    ) -> _Found:
        if not isinstance(session, AccountSession):
            return _Found()  # the principal side already says why its account could not be read
        region = ref.region if ref else self.denial.region or self.settings.aws_default_region
        trail, unseen = lookup_denied_call(
            session,
            region,
            action=self.denial.action,
            principal_arn=self.denial.principal_arn,
            key_arn=ref.key_arn if ref else None,
        )
        found = _Found(trail=trail, unseen=unseen)
        endpoint = (trail.vpc_endpoint_id if trail else None) or endpoint_in(self.denial.message)
        if endpoint:
            return _merge([found, self.endpoint_side(session, region, endpoint)])
        return found

    def endpoint_side(self, session: AccountSession | AssumeRoleError | None, region: str, endpoint: str
                      ) -> _Found:
        if not isinstance(session, AccountSession):
            return _Found(unseen=[Unseen(what="vpc_endpoint", reason=f"the call went through {endpoint}, "
                                         "and the caller's account could not be read")])
        policy, unseen = read_endpoint_policy(session, region, endpoint)
        return _Found(endpoint=policy, unseen=unseen)


def _merge(found: list[_Found]) -> _Found:
    out = _Found()
    for part in found:
        out.principal = out.principal or part.principal
        out.key = out.key or part.key
        out.trail = out.trail or part.trail
        out.endpoint = out.endpoint or part.endpoint
        if part.org is not None:
            if out.org is None:
                out.org = part.org
            else:
                out.org = OrgFacts(
                    management_account=out.org.management_account or part.org.management_account,
                    scps=out.org.scps if out.org.scps is not None else part.org.scps,
                    rcps=out.org.rcps if out.org.rcps is not None else part.org.rcps,
                )
        out.unseen.extend(part.unseen)
    return out


def _needs_trail(denial: Denial, ref: KeyRef | None) -> bool:
    message = denial.message or ""
    return (
        ref is None or denial.denial_kind == "key_not_found_or_denied" or "null (Service: AWSKMS" in message
    )


def collect(
    denial: Denial,
    settings: Settings,
    *,
    request_id: str,
    sessions: SessionFactory | None = None,
    trace: Trace | None = None,
) -> Snapshot:
    """Read the caller's IAM side, the key, the organization policies and (when needed) CloudTrail."""
    sessions = sessions or SessionFactory(settings)
    trace = trace or Trace()
    with (
        tracing(trace),
        ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="kms-why-aws") as pool,
    ):
        found = _collect(denial, settings, request_id, sessions, pool)
    unique = tuple(_sentences(u) for u in distinct(found.unseen))
    return Snapshot(
        principal=found.principal,
        key=found.key,
        org=found.org,
        trail=found.trail,
        unseen=unique,
        aws_calls=trace.calls,
        round_trips=trace.round_trips,
        vpc_endpoint_policy=found.endpoint,
    )


def _collect(
    denial: Denial, settings: Settings, request_id: str, sessions: SessionFactory, pool: Executor
) -> _Found:
    worker = _Collector(denial, settings, request_id, sessions, pool)
    target = target_of(denial)
    early, caller, ref, key_redacted = target.unseen, target.caller, target.ref, target.key_redacted

    needs_reads, principal_account = target.needs_iam_reads, target.principal_account
    trail_wanted = not key_redacted and principal_account is not None and _needs_trail(denial, ref)
    via_endpoint = endpoint_in(denial.message) is not None
    wanted = (
        principal_account if principal_account and (needs_reads or trail_wanted or via_endpoint) else None
    )
    first: list[Callable[[], Any]] = [
        partial(worker.session, wanted) if wanted else lambda: None,
        worker.org_session,
    ]
    if ref is not None and ref.account != wanted:
        first.append(partial(worker.session, ref.account))  # cached for key_side
    principal_session, org_session, *rest = gather(pool, first)  # every role at once: one round trip
    key_session = rest[0] if rest else principal_session

    branches: list[Callable[[], _Found]] = []
    if caller is not None:
        branches.append(partial(worker.principal_side, caller, principal_session if needs_reads else None))
    if trail_wanted and ref is None:

        def trail_then_key() -> _Found:
            trail = worker.trail_side(principal_session)
            late = (
                key_ref(trail.trail.key_arn, None, None, None)
                if trail.trail and trail.trail.key_arn
                else None
            )
            if late is None:
                return _merge([trail, _Found(unseen=[_no_key(trail, principal_account, denial, settings)])])
            parts = gather(
                pool,
                [partial(worker.key_side, late), partial(worker.org_side, org_session, None, late.account)],
            )
            return _merge([trail, *parts])

        branches.append(trail_then_key)
        branches.append(partial(worker.org_side, org_session, principal_account, None))
    else:
        if ref is not None:
            branches.append(partial(worker.key_side, ref, key_session))
        elif not key_redacted:
            early.append(
                Unseen(
                    what="key_policy",
                    reason="the error does not name the key",
                    remedy="paste the error with the key ARN",
                )
            )
        if trail_wanted:
            branches.append(partial(worker.trail_side, principal_session, ref))
        elif via_endpoint and principal_account:
            region = ref.region if ref else denial.region or settings.aws_default_region
            branches.append(partial(worker.endpoint_side, principal_session, region,
                                    str(endpoint_in(denial.message))))
        branches.append(
            partial(worker.org_side, org_session, principal_account, ref.account if ref else None)
        )
    found = _merge([_Found(unseen=early), *gather(pool, branches)])
    layer = _ORG_LAYERS.get(denial.denial_kind)
    if layer and settings.org_role_arn is None:
        found.unseen.append(
            Unseen(
                what=layer,
                reason=(
                    f"the error names an organization policy ({layer.upper()}), and KMS_WHY_ORG_ROLE_ARN "
                    "is not set, so no organization policy was read"
                ),
                remedy="set KMS_WHY_ORG_ROLE_ARN to a role in the management (or delegated admin) account",
            )
        )
    return found


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!", ")")) else ".")


def _sentences(entry: Unseen) -> Unseen:
    """Reasons and remedies read as sentences in the answer, whichever collector wrote them."""
    remedy = _sentence(entry.remedy) if entry.remedy else None
    return entry.model_copy(update={"reason": _sentence(entry.reason), "remedy": remedy})


def _no_key(trail: _Found, account: str | None, denial: Denial, settings: Settings) -> Unseen:
    if trail.unseen:
        why = "the error does not name the key, and CloudTrail could not be searched (see the other entry)"
    else:
        region = denial.region or settings.aws_default_region
        why = (
            f"the error does not name the key, and CloudTrail in {account} {region} shows no failed "
            f"{denial.action or 'KMS'} call by this caller in the last day"
        )
    return Unseen(what="key_policy", reason=why, remedy="paste the error with the key ARN")
