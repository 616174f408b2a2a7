"""Proposal: the smallest key-policy change that fixes a denial, its diff, hash and proof (pure).

A change only ever appends a statement or adds values to an existing statement (a principal, a
condition value); it never removes or reorders statements, so admin statements survive and the
lockout check stays satisfied. Each proposal is proven by re-running the engine: the denied request
must now be allowed, and probe principals (another role of the caller's account, a role of an
unrelated account, the caller for other actions) must not gain anything they did not have.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from bot.policy.simulation import Request, SimulationDocument, SimulationResult
from bot.policy_text import policy_sha256

Json = dict[str, Any]
Evaluator = Callable[[SimulationDocument], SimulationResult]
Change = Literal[
    "add_statement", "restore_root", "extend_principals", "replace_principal", "extend_condition"
]

PROBE_ACTIONS = (
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:ReEncryptFrom",
    "kms:DescribeKey",
    "kms:CreateGrant",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
)
_ALLOW_ALL: Json = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
_OUTSIDER = ("999999999999", "888888888888")


class Proof(BaseModel):
    model_config = ConfigDict(frozen=True)

    allowed: bool  # the denied request, re-evaluated with the patch
    decision: str
    gains: tuple[str, ...] = ()  # "<principal> <action>" newly allowed, beyond the intended ones
    accepted_gains: tuple[str, ...] = ()  # gains the change means to give (root delegation)


class Proposal(BaseModel):
    model_config = ConfigDict(frozen=True)

    change: Change
    key_arn: str
    region: str | None
    policy_before: Json
    policy_after: Json
    sha256_before: str
    diff: str
    sid: str | None
    proof: Proof
    blast_radius: str

    @property
    def verified(self) -> bool:
        return self.proof.allowed and not self.proof.gains


class Refusal(ValueError):
    """No key-policy patch may be proposed (an AWS managed key): the reason a person reads."""


# --- the changes ------------------------------------------------------------------------------------


def _statements(policy: Json) -> list[Json]:
    found = policy.get("Statement", [])
    return [found] if isinstance(found, dict) else list(found)


def _with_statements(policy: Json, statements: list[Json]) -> Json:
    after = copy.deepcopy(policy)
    after["Statement"] = statements
    return after


def unique_sid(policy: Json, base: str) -> str:
    taken = {str(s.get("Sid")) for s in _statements(policy) if isinstance(s, dict) and s.get("Sid")}
    clean = re.sub(r"[^A-Za-z0-9]", "", base) or "KmsWhy"
    sid, n = clean, 2
    while sid in taken:
        sid, n = f"{clean}{n}", n + 1
    return sid


def role_statement(
    policy: Json, role_arn: str, actions: Iterable[str], condition: Json | None = None
) -> Json:
    """A statement naming the role ARN (never a session) for the actions, with the conditions kept."""
    wanted: list[str] = []
    for action in [*actions, "kms:DescribeKey"]:
        if action.lower() not in {a.lower() for a in wanted}:
            wanted.append(action)
    role_name = role_arn.rsplit("/", 1)[-1]
    statement: Json = {
        "Sid": unique_sid(policy, f"KmsWhyAllow{role_name}"),
        "Effect": "Allow",
        "Principal": {"AWS": role_arn},
        "Action": wanted if len(wanted) > 1 else wanted[0],
        "Resource": "*",
    }
    if condition:
        statement["Condition"] = copy.deepcopy(condition)
    return statement


def add_statement(policy: Json, statement: Json) -> Json:
    return _with_statements(policy, [*copy.deepcopy(_statements(policy)), statement])


def root_statement(policy: Json, account: str) -> Json:
    return {
        "Sid": unique_sid(policy, "EnableIAMUserPermissions"),
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def extend_principals(policy: Json, index: int, principal: str, *, replacing: str | None = None) -> Json:
    """Add `principal` to statement `index` (in place of `replacing`, a dangling unique id, if given)."""
    statements = copy.deepcopy(_statements(policy))
    target = statements[index]
    current = target.get("Principal", {}).get("AWS", [])
    values = [current] if isinstance(current, str) else list(current)
    if replacing is not None and replacing in values:
        values[values.index(replacing)] = principal
    elif principal not in values:
        values.append(principal)
    target.setdefault("Principal", {})["AWS"] = values[0] if len(values) == 1 else values
    return _with_statements(policy, statements)


def extend_condition(policy: Json, index: int, operator: str, key: str, value: str) -> Json:
    """Add `value` to condition `operator`/`key` of statement `index` (key matched case-blind)."""
    statements = copy.deepcopy(_statements(policy))
    block = statements[index].setdefault("Condition", {}).setdefault(operator, {})
    name = next((k for k in block if k.lower() == key.lower()), key)
    current = block.get(name, [])
    values = [current] if isinstance(current, str) else list(current)
    if value not in values:
        values.append(value)
    block[name] = values[0] if len(values) == 1 else values
    return _with_statements(policy, statements)


# --- the proof --------------------------------------------------------------------------------------


def pretty(policy: Json) -> str:
    return json.dumps(policy, indent=2, ensure_ascii=False) + "\n"


def unified_diff(before: Json, after: Json) -> str:
    return "".join(
        difflib.unified_diff(
            pretty(before).splitlines(True),
            pretty(after).splitlines(True),
            fromfile="key-policy (current)",
            tofile="key-policy (patched)",
        )
    )


def _account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def _probe(
    document: SimulationDocument, principal: str, action: str, *, same_org: bool
) -> SimulationDocument:
    account = _account(principal)
    context = {
        k: v
        for k, v in document.request.context.items()
        if k.lower() not in ("aws:principalarn", "aws:principalaccount", "kms:calleraccount", "aws:userid")
        and not k.lower().startswith("aws:principaltag/")
    }
    context.update(
        {"aws:PrincipalArn": principal, "aws:PrincipalAccount": account, "kms:CallerAccount": account}
    )
    return document.model_copy(
        update={
            "request": Request(
                principal=principal,
                action=action,
                resource=document.request.resource,
                context=context,
                unknown_keys=document.request.unknown_keys,
            ),
            "identity_policies": [_ALLOW_ALL],
            "permissions_boundary": None,
            "session_policy": None,
            "scps": document.scps if same_org else [],
        }
    )


def _allowed(evaluate: Evaluator, document: SimulationDocument) -> bool:
    return evaluate(document).decision == "allow"


def prove(
    document: SimulationDocument,
    policy_after: Json,
    evaluate: Evaluator,
    *,
    role_arn: str | None,
    intended_actions: Iterable[str],
    accepted_accounts: Iterable[str] = (),
) -> Proof:
    """Re-evaluate the request with the patch, and compare probes before and after."""
    patched = document.model_copy(update={"key_policy": policy_after})
    result = evaluate(patched)
    intended = {a.lower() for a in intended_actions} | {"kms:describekey"}
    caller_account = _account(document.request.principal)
    key_account = _account(document.request.resource)
    outsider = next(a for a in _OUTSIDER if a not in (caller_account, key_account))
    probes = [
        f"arn:aws:iam::{acct}:role/kms-why-probe"
        for acct in dict.fromkeys(a for a in (caller_account, key_account, outsider) if a)
    ]
    accepted = set(accepted_accounts)
    gains: list[str] = []
    accepted_gains: list[str] = []
    subjects = [(p, False) for p in probes]
    if role_arn:
        subjects.append((role_arn, True))
    for principal, is_caller in subjects:
        for action in PROBE_ACTIONS:
            if is_caller and action.lower() in intended:
                continue
            same_org = _account(principal) == caller_account
            if is_caller:
                before_doc = document.model_copy(
                    update={"request": document.request.model_copy(update={"action": action})}
                )
            else:
                before_doc = _probe(document, principal, action, same_org=same_org)
            if _allowed(evaluate, before_doc):
                continue
            if _allowed(evaluate, before_doc.model_copy(update={"key_policy": policy_after})):
                entry = f"{principal} {action}"
                (accepted_gains if _account(principal) in accepted else gains).append(entry)
    return Proof(
        allowed=result.decision == "allow",
        decision=result.decision,
        gains=tuple(gains),
        accepted_gains=tuple(accepted_gains),
    )


def propose(
    change: Change,
    document: SimulationDocument,
    policy_before: Json,
    policy_after: Json,
    evaluate: Evaluator,
    *,
    key_arn: str,
    region: str | None,
    role_arn: str | None,
    sid: str | None,
    blast_radius: str,
    intended_actions: Iterable[str],
    accepted_accounts: Iterable[str] = (),
    key_manager: str | None = "CUSTOMER",
) -> Proposal:
    if key_manager == "AWS":
        raise Refusal(
            "this is an AWS managed key: its key policy cannot be changed; re-encrypt the data under "
            "a customer managed key instead"
        )
    proof = prove(
        document,
        policy_after,
        evaluate,
        role_arn=role_arn,
        intended_actions=intended_actions,
        accepted_accounts=accepted_accounts,
    )
    return Proposal(
        change=change,
        key_arn=key_arn,
        region=region,
        policy_before=policy_before,
        policy_after=policy_after,
        sha256_before=policy_sha256(policy_before),
        diff=unified_diff(policy_before, policy_after),
        sid=sid,
        proof=proof,
        blast_radius=blast_radius,
    )


def commands(proposal: Proposal) -> tuple[str, ...]:
    """The AWS CLI commands that apply the proposal and verify it (run in the key's account)."""
    where = f"--key-id {proposal.key_arn} --policy-name default" + (
        f" --region {proposal.region}" if proposal.region else ""
    )
    return (
        f"aws kms get-key-policy {where} --query Policy --output text > key-policy.current.json",
        "# the current policy must still hash (canonical JSON) to " + proposal.sha256_before,
        f"cat > key-policy.patched.json <<'EOF'\n{pretty(proposal.policy_after)}EOF",
        f"aws kms put-key-policy {where} --policy file://key-policy.patched.json",
        f"aws kms get-key-policy {where} --query Policy --output text",
    )
