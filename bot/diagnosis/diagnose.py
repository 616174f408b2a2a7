"""diagnose(denial, snapshot) -> Diagnosis: which lock failed, why, and the smallest proven fix (pure)."""

from __future__ import annotations

import json
import re

from bot.diagnosis.causes import make_cause
from bot.diagnosis.classify import classify
from bot.diagnosis.document import UNKNOWN_CALLER, Built, account_of, build
from bot.diagnosis.findings import Finding
from bot.diagnosis.fixes import build_fixes
from bot.diagnosis.locks import build_locks
from bot.diagnosis.lookalikes import before_engine, lookalike
from bot.diagnosis.models import LAYER_ORDER, Diagnosis, Lock, UnseenRemedy, layer_words
from bot.errors import UserError
from bot.parse.models import Denial
from bot.patch import Evaluator
from bot.policy.simulation import SimulationResult
from bot.snapshot import Snapshot

_ACCOUNT = re.compile(r"^\d{12}$")


def default_evaluator() -> Evaluator:
    from bot.policy.evaluate import evaluate

    return evaluate


def redacted_account(denial: Denial) -> str | None:
    """The placeholder standing in for an account id in the paste (`xxxx`, `****`, `<>`), if any."""
    for value in (account_of(denial.principal_arn), account_of(denial.resource_arn), denial.account):
        if value and not _ACCOUNT.match(value):
            return value
    return None


def _question(denial: Denial, placeholder: str) -> Diagnosis:
    return Diagnosis(
        denial=denial,
        verdict="implicit_deny",
        cause=make_cause("redacted_account"),
        locks=(Lock(layer="identity", allows=None), Lock(layer="key_policy", allows=None)),
        unseen=("identity", "key_policy"),
        unseen_details=(
            f"The paste shows the account as {placeholder!r}; the bot reads nothing without it.",
        ),
        question=(
            f"Which AWS account is {placeholder!r} in your paste? Reply with the 12-digit account id "
            "(or paste the error unredacted) and I will read the key policy and the role's policies."
        ),
    )


def diagnose(denial: Denial, snapshot: Snapshot, *, evaluate: Evaluator | None = None) -> Diagnosis:
    placeholder = redacted_account(denial)
    if placeholder is not None:
        return _question(denial, placeholder)
    evaluate = evaluate or default_evaluator()
    built = build(denial, snapshot)
    look = lookalike(denial, snapshot, built)
    if built.principal_arn == UNKNOWN_CALLER:
        return _unweighed(denial, snapshot, built, look, "caller_unknown", evaluate)
    if not built.key_arn.startswith("arn:") and look is None:
        return _unweighed(denial, snapshot, built, look, "key_unknown", evaluate)
    try:
        result = evaluate(built.document)
    except UserError as problem:  # a malformed policy in the account: say so, do not crash the answer
        return _unweighed(denial, snapshot, built, look, "policy_unparseable", evaluate, explain=str(problem))
    locks = build_locks(built, snapshot, result)
    finding = look or before_engine(denial, snapshot, built) or classify(denial, snapshot, built, result)
    if look is not None:
        locks.append(_key_state_lock(denial, snapshot, built))
    if finding.code.startswith("aws_managed_key"):
        locks = [
            Lock(
                layer="key_policy",
                allows=False,
                policy=built.key_arn,
                explain=("AWS managed key: its policy admits only its own account, through its own service"),
            )
            if lock.layer == "key_policy"
            else lock
            for lock in locks
        ]
    unseen, details = _unseen(built, snapshot, result, finding)
    for lock in locks:
        if lock.allows is None and lock.layer not in unseen:
            # Read, but its answer turns on context nobody showed us (three-valued evaluation).
            unseen.append(lock.layer)
            keys = ", ".join(u.key for u in result.unknowns) or "context the paste does not give"
            details.append(f"{lock.layer}: its answer depends on {keys}.")
    fixes = build_fixes(finding, built, snapshot, locks, evaluate)
    cross = bool(
        built.principal_account and built.key_account and built.principal_account != built.key_account
    )
    notes: list[str] = []
    if not denial.action:
        notes.append(
            f"The paste does not name the KMS action; the bot assumed {built.document.request.action}."
        )
    if cross:
        notes.append(
            f"Cross-account: the caller is in account {built.principal_account}, the key in account "
            f"{built.key_account}; both sides must allow."
        )
    if snapshot.key is not None and snapshot.key.manager == "AWS":
        notes.append(
            "This is an AWS managed key: its key policy cannot be changed, so no key-policy patch is offered."
        )
    notes += [note for note in result.notes if note not in notes]
    return Diagnosis(
        denial=denial,
        verdict=result.decision,
        cause=make_cause(finding.code, **_facts(denial, built, finding, locks)),
        locks=tuple(locks),
        unseen=tuple(unseen),
        unseen_details=tuple(details),
        unseen_remedies=_remedies(snapshot),
        fixes=tuple(fixes),
        inferred=_inferred(denial, snapshot),
        cross_account=cross,
        principal_account=built.principal_account,
        key_account=built.key_account,
        key_manager=snapshot.key.manager if snapshot.key else None,
        aws_calls=snapshot.aws_calls,
        round_trips=snapshot.round_trips,
        notes=tuple(notes),
    )


def _unweighed(
    denial: Denial,
    snapshot: Snapshot,
    built: Built,
    look: Finding | None,
    code: str,
    evaluate: Evaluator,
    explain: str = "",
) -> Diagnosis:
    """An answer without the engine: the caller is unknown or a policy cannot be evaluated."""
    reason = {"caller_unknown": "the caller is unknown", "key_unknown": "the key is unknown"}.get(
        code, "a policy could not be evaluated"
    )
    locks = [
        Lock(layer="identity", allows=None, explain=reason),
        Lock(layer="key_policy", allows=None, policy=built.key_arn, explain=reason),
    ]
    if look is not None:
        locks.append(_key_state_lock(denial, snapshot, built))
    finding = look or Finding(code, {"explain": explain})
    question = None
    if code == "caller_unknown" and look is None:
        question = (
            "Which role or user made the call? Paste the complete error (it names the caller), or the "
            "time of the failure so the bot can find it in CloudTrail."
        )
    if code == "key_unknown":
        question = (
            "Which key was it? Paste the key ARN, or what you were reading (the S3 object, secret or "
            "snapshot), or the time of the failure so the bot can find the call in CloudTrail."
        )
    return Diagnosis(
        denial=denial,
        verdict="implicit_deny",
        cause=make_cause(finding.code, **finding.facts),
        locks=tuple(locks),
        unseen=("identity", "key_policy"),
        unseen_details=(f"identity, key_policy: {reason}; the verdict is not the policies' decision.",),
        unseen_remedies=_remedies(snapshot),
        fixes=tuple(build_fixes(finding, built, snapshot, locks, evaluate)),
        question=question,
        principal_account=built.principal_account,
        key_account=built.key_account,
        key_manager=snapshot.key.manager if snapshot.key else None,
        aws_calls=snapshot.aws_calls,
        round_trips=snapshot.round_trips,
        notes=(explain,) if explain else (),
    )


def _key_state_lock(denial: Denial, snapshot: Snapshot, built: Built) -> Lock:
    key = snapshot.key
    if key is not None and key.not_found:
        explain = f"DescribeKey found no such key in account {key.account}, Region {key.region}"
    else:
        state = (key.state if key else None) or denial.error_code or "unusable"
        explain = f"key state: {state}"
    return Lock(layer="key_state", allows=False, policy=built.key_arn, explain=explain)


def _facts(denial: Denial, built: Built, finding: Finding, locks: list[Lock]) -> dict[str, str | None]:
    failing = next(
        (lock for lock in locks if lock.allows is False and lock.layer == finding.failing_layer), None
    ) or next((lock for lock in locks if lock.allows is False), None)
    role = (built.role_arn or built.principal_arn).rsplit("/", 1)[-1]
    if built.principal_arn.startswith("arn:aws:sts::") and built.role_arn:
        role = built.role_arn.rsplit("/", 1)[-1]
    facts: dict[str, str | None] = {
        "role": role,
        "action": denial.action or built.document.request.action,
        "key_account": built.key_account,
        "principal_account": built.principal_account,
        "policy": failing.policy if failing else None,
        "statement": failing.statement if failing else None,
        "layer": layer_words(finding.failing_layer or (failing.layer if failing else "policies")),
    }
    facts.update(finding.facts)
    return facts


def _unseen(
    built: Built, snapshot: Snapshot, result: SimulationResult, finding: Finding
) -> tuple[list[str], list[str]]:
    # Layer names and context keys (`kms:ViaService`, …) are what the public `unseen` may hold.
    unseen: list[str] = [what for what in built.unseen_layers if what in LAYER_ORDER or ":" in what]
    details = [
        f"{item.what}: {item.reason}" + (f" {item.remedy}" if item.remedy else "") for item in snapshot.unseen
    ]
    spelled = {k.lower(): k for k in built.document.request.unknown_keys}
    for unknown in result.unknowns:
        name = spelled.get(unknown.key.lower(), unknown.key)
        if name not in unseen:
            unseen.append(name)
            hint = f" (allowed if it is {', '.join(unknown.allow_if)})" if unknown.allow_if else ""
            details.append(f"{name}: not in the paste or CloudTrail{hint}.")
    if finding.code == "evidence_disagrees":
        principal = snapshot.principal
        if (principal is None or principal.kind == "assumed_role") and "session" not in unseen:
            if not snapshot.session_policy_known:
                unseen.append("session")
                details.append(
                    "session: no AssumeRole record in CloudTrail showed the session policy passed, if any."
                )
            elif snapshot.session_policy_merged:
                unseen.append("session")
                details.append(
                    "session: several session policies were passed; the bot weighed their union, AWS "
                    "their intersection, so one of them may lack the action."
                )
        endpoint_seen = snapshot.vpc_endpoint_policy is not None or (
            snapshot.trail is not None and snapshot.trail.vpc_endpoint_id is None
        )
        if not endpoint_seen and "vpc_endpoint" not in unseen:
            unseen.append("vpc_endpoint")
            details.append(
                "vpc_endpoint: nothing shows whether the call came through a KMS VPC endpoint, so its "
                "policy was not read."
            )
        if snapshot.trail is None and "aws:SourceVpce" not in unseen:
            unseen.append("aws:SourceVpce")
            details.append("aws:SourceVpce: without the CloudTrail record the network path is unknown.")
        details.append(
            "A grant or policy changed in the last minutes may not have propagated yet "
            "(eventual consistency)."
        )
    return unseen, details


def _remedies(snapshot: Snapshot) -> tuple[UnseenRemedy, ...]:
    """The statements the unseen details' "Add this statement" sentences refer to, each once.

    One statement can reveal several layers (the reader role's trust statement): it is shown once,
    naming all of them.
    """
    found: dict[str, UnseenRemedy] = {}
    for item in snapshot.unseen:
        if item.remedy_statement is None:
            continue
        same = json.dumps(item.remedy_statement, sort_keys=True)
        earlier = found.get(same)
        if earlier is None:
            found[same] = UnseenRemedy(what=(item.what,), statement=item.remedy_statement, remedy=item.remedy)
        elif item.what not in earlier.what:
            found[same] = earlier.model_copy(update={"what": (*earlier.what, item.what)})
    return tuple(found.values())


def _inferred(denial: Denial, snapshot: Snapshot) -> tuple[str, ...]:
    trail = snapshot.trail
    if trail is None:
        return ()
    found: list[str] = []
    if trail.key_arn and not denial.resource_arn:
        found.append(f"key {trail.key_arn} from CloudTrail event {trail.event_id}")
    if trail.encryption_context is not None:
        found.append(f"encryption context from CloudTrail event {trail.event_id}")
    if trail.invoked_by and not denial.service_context:
        found.append(f"called through {trail.invoked_by} (CloudTrail event {trail.event_id})")
    return tuple(found)
