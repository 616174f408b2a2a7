"""Second reads for an answer the first ones could not settle: the session policy and the VPC endpoint.

They are made only when the engine allowed what AWS denied, or when the paste itself blames a session
or endpoint policy, because both come from CloudTrail (about two lookups a second per account and Region)
and an ordinary answer needs neither. The snapshot's call and round-trip counts grow by what they took.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context

from bot.aws.cloudtrail import lookup_denied_call
from bot.aws.endpoints import read_endpoint_policy
from bot.aws.session_policies import SessionPolicy, lookup_session_policy
from bot.aws.sessions import AssumeRoleError, SessionFactory
from bot.aws.trace import Trace, tracing
from bot.parse.models import Denial
from bot.settings import Settings
from bot.snapshot import NamedPolicy, Snapshot, TrailEvidence, Unseen

SESSION_KINDS = frozenset({"no_session_allow", "explicit_deny_session"})
ENDPOINT_KINDS = frozenset({"no_vpce_allow", "explicit_deny_vpce"})


def wants_follow_up(denial: Denial, snapshot: Snapshot, disagrees: bool) -> bool:
    return _wants_session(denial, snapshot, disagrees) or _wants_endpoint(denial, snapshot, disagrees)


def _wants_session(denial: Denial, snapshot: Snapshot, disagrees: bool) -> bool:
    principal = snapshot.principal
    return bool(
        principal is not None and principal.kind == "assumed_role" and principal.role_arn
        and principal.session_name and principal.account and not snapshot.session_policy_known
        and (disagrees or denial.denial_kind in SESSION_KINDS)
    )


def _wants_endpoint(denial: Denial, snapshot: Snapshot, disagrees: bool) -> bool:
    return bool(
        snapshot.principal is not None and snapshot.principal.account and snapshot.trail is None
        and snapshot.vpc_endpoint_policy is None and (disagrees or denial.denial_kind in ENDPOINT_KINDS)
    )


def follow_up(denial: Denial, snapshot: Snapshot, settings: Settings, *, request_id: str,
              sessions: SessionFactory, disagrees: bool) -> Snapshot:
    """The snapshot with the session policy and the endpoint policy added where CloudTrail shows them."""
    principal = snapshot.principal
    assert principal is not None and principal.account is not None
    region = (snapshot.key.region if snapshot.key else None) or denial.region or settings.aws_default_region
    trace = Trace()
    with tracing(trace), ThreadPoolExecutor(max_workers=8, thread_name_prefix="kms-why-aws") as pool:
        try:
            session = sessions.reader(principal.account, request_id)
        except AssumeRoleError as error:
            why = f"AssumeRole {error.role_arn} failed: {error.code}: {error.message}"
            lost = Unseen(what="session", reason=why)
            return snapshot.model_copy(update={"unseen": (*snapshot.unseen, lost)})

        def session_policy() -> SessionPolicy | None:
            if not _wants_session(denial, snapshot, disagrees):
                return None
            assert principal is not None and principal.role_arn and principal.session_name
            return lookup_session_policy(session, pool, settings.aws_default_region,
                                         role_arn=principal.role_arn, session_name=principal.session_name)

        def endpoint() -> tuple[TrailEvidence | None, NamedPolicy | None, list[Unseen]]:
            if not _wants_endpoint(denial, snapshot, disagrees):
                return None, None, []
            key_arn = snapshot.key.arn if snapshot.key else None
            trail, found_unseen = lookup_denied_call(session, region, action=denial.action,
                                                     principal_arn=denial.principal_arn, key_arn=key_arn)
            # Here the key is known: a failed lookup hides only the network path (the endpoint).
            unseen = [u.model_copy(update={"what": "vpc_endpoint"}) for u in found_unseen]
            if trail is None or not trail.vpc_endpoint_id:
                return trail, None, unseen
            policy, more = read_endpoint_policy(session, region, trail.vpc_endpoint_id)
            return trail, policy, unseen + more

        # Each flow in its own copy of the context, so the trace counts both (as `gather` does).
        session_task = pool.submit(copy_context().run, session_policy)
        trail, policy, endpoint_unseen = copy_context().run(endpoint)
        found = session_task.result()
    update: dict[str, object] = {
        "aws_calls": snapshot.aws_calls + trace.calls,
        "round_trips": snapshot.round_trips + trace.round_trips,
        "unseen": (*snapshot.unseen, *(found.unseen if found else ()), *endpoint_unseen),
    }
    if found is not None and found.found and not found.unseen:
        update |= {"session_policy": found.policy, "session_policy_known": True,
                   "session_policy_merged": found.merged}
    if trail is not None:
        update |= {"trail": trail, "vpc_endpoint_policy": policy}
    return snapshot.model_copy(update=update)
