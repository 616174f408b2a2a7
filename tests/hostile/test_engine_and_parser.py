"""Hostile documents for the engine and hostile text for the parser (issue 7, "Hostile and bad input").

tests/policy/test_properties.py fuzzes a single policy slot and tests/parse/test_fuzz.py the parser's
fragments; here every slot of a SimulationDocument at once (request, context, grants, key facts, SCP and
RCP levels), pathological sizes (10,000 statements, 1 MB pastes, deep nesting) and invalid UTF-8 on the
command line. Only a `PolicyError` (or pydantic's refusal of the document) may come out; sizes are
checked by completing, never by timing (benchmarks/ measure speed)."""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.parse import parse
from bot.policy import PolicyError, evaluate
from bot.policy.simulation import SimulationDocument

ROOT = Path(__file__).resolve().parents[2]
KMS_WHY = ROOT / ".venv" / "bin" / "kms-why"
KEY = "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SESSION = "arn:aws:sts::111122223333:assumed-role/App/i-0abc"
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = ["*", "kms:*", "kms:Decrypt", KEY, SESSION, "Allow", "Deny", "${aws:username}", "StringEquals",
         "arn:aws:iam::111122223333:root", "ForAnyValue:StringLike", "Null", "IpAddress", "2012-10-17",
         "aws:SourceVpce", "kms:ViaService"]
scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12),
                   st.sampled_from(WORDS))
junk = st.recursive(scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(scalar.filter(
    lambda v: isinstance(v, str)).map(str), inner, max_size=3), max_leaves=10)
statement = st.dictionaries(st.sampled_from(["Effect", "Action", "NotAction", "Resource", "NotResource",
                                             "Principal", "NotPrincipal", "Condition", "Sid"]),
                            junk, max_size=7)
policy = st.one_of(junk, st.fixed_dictionaries({"Version": junk,
                                                "Statement": st.lists(statement, max_size=3)}))
grant = st.dictionaries(st.sampled_from(["GranteePrincipal", "Operations", "Constraints", "KeyId",
                                         "RetiringPrincipal"]), junk, max_size=4)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    principals = st.sampled_from([SESSION, "arn:aws:iam::111122223333:root", "", "*"])
    request = {"principal": draw(principals | junk),
               "action": draw(st.sampled_from(["kms:Decrypt", "kms:*", "", "Decrypt"]) | junk),
               "resource": draw(st.sampled_from([KEY, "*", "alias/x"]) | junk),
               "context": draw(st.dictionaries(st.text(max_size=20), junk, max_size=3) | junk)}
    fields = {"identity_policies": st.lists(policy, max_size=2), "permissions_boundary": policy,
              "session_policy": policy, "scps": st.lists(st.lists(policy, max_size=2), max_size=2),
              "rcps": st.lists(st.lists(policy, max_size=2), max_size=2), "key_policy": policy,
              "grants": st.lists(grant, max_size=2), "vpc_endpoint_policy": policy,
              "key": st.dictionaries(st.sampled_from(["manager", "state"]), junk, max_size=2)}
    chosen = draw(st.sets(st.sampled_from(sorted(fields)), max_size=len(fields)))
    return {"request": request, **{name: draw(fields[name]) for name in chosen}}


def _evaluate_or_refuse(raw: Any) -> None:
    try:
        document = SimulationDocument.model_validate(raw)
    except ValidationError:
        return  # refused at the boundary with pydantic's field-by-field message
    with contextlib.suppress(PolicyError):  # anything else escaping fails the test
        evaluate(document)


@FUZZ
@given(raw=documents())
def test_a_generated_document_evaluates_or_raises_policy_error(raw: dict[str, Any]) -> None:
    _evaluate_or_refuse(raw)


def _allow(index: int) -> dict[str, Any]:
    return {"Sid": f"S{index}", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{index:012d}:root"},
            "Action": ["kms:Encrypt", f"kms:Describe{index}"], "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": f"s{index}.us-east-1.amazonaws.com"}}}


def test_a_key_policy_of_10000_statements_is_evaluated_or_refused_clearly() -> None:
    key_policy = {"Version": "2012-10-17", "Statement": [_allow(i) for i in range(10_000)]}
    document = SimulationDocument.model_validate({
        "request": {"principal": SESSION, "action": "kms:Decrypt", "resource": KEY},
        "identity_policies": [{"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}],
        "key_policy": key_policy})
    try:
        result = evaluate(document)
    except PolicyError as refused:
        assert str(refused)  # a clear refusal is acceptable; record which in hostile.md
        return
    assert result.decision == "implicit_deny"
    assert any(check.policy_type == "key_policy" for check in result.failing_checks)


def _nested_document(depth: int) -> dict[str, Any]:
    # Built in a loop rather than by json.loads: under pytest's deeper stack json.loads itself would hit
    # the recursion limit near 990 levels before the engine ever ran.
    nested: Any = "kms:Decrypt"
    for _ in range(depth):
        nested = [nested]
    statement = {"Effect": "Allow", "Principal": "*", "Action": nested, "Resource": "*"}
    return {"request": {"principal": SESSION, "action": "kms:Decrypt", "resource": KEY},
            "key_policy": {"Statement": [statement]}}


@pytest.mark.parametrize("depth", [900, 990, 5_000])
def test_a_nested_action_list_is_refused_with_policy_error(depth: int) -> None:
    with pytest.raises(PolicyError):
        evaluate(SimulationDocument.model_validate(_nested_document(depth)))


def test_simulate_refuses_deeply_nested_json_with_a_one_line_error() -> None:
    text = '{"request": ' + "[" * 100_000 + "]" * 100_000 + "}"
    done = subprocess.run([str(KMS_WHY), "simulate", "-"], input=text.encode(), capture_output=True,
                          timeout=60)
    assert done.returncode == 2, done.stderr[-500:]
    assert b"Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_parse_reads_invalid_utf8_without_a_traceback() -> None:
    paste = (b"User: arn:aws:iam::111122223333:role/R\xff\xfe is not authorized to perform: kms:Decrypt on "
             b"resource: " + KEY.encode() + b" \xc3\x28 \xed\xa0\x80")
    done = subprocess.run([str(KMS_WHY), "parse"], input=paste, capture_output=True, timeout=60)
    assert b"Traceback" not in done.stderr
    if done.returncode == 0:
        assert json.loads(done.stdout)["relevant"] is True
    else:
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


def test_parse_of_a_one_megabyte_paste_finishes_with_an_answer() -> None:
    real = ("An error occurred (AccessDeniedException) when calling the Decrypt operation: User: "
            f"{SESSION} is not authorized to perform: kms:Decrypt on resource: {KEY}\n")
    noise = "INFO 2026-01-01T00:00:00Z worker heartbeat ok <!channel> @here `x` *y* arn:aws:kms:\n"
    paste = noise * (500_000 // len(noise)) + real + noise * (500_000 // len(noise))
    assert len(paste) >= 990_000
    result = parse(paste)
    assert result.relevant and any(d.resource_arn == KEY for d in result.denials)


@settings(max_examples=80, deadline=None)
@given(text=st.lists(st.sampled_from(["<!channel>", "<@U0ADMIN>", "@here", "<https://x|y>", "&lt;", "```",
                                      "kms:Decrypt", " on resource: ", KEY, "User: ", SESSION,
                                      " is not authorized to perform: ", "\x00", "\ud7ff", "\u202e"]) |
                     st.text(max_size=10), max_size=25).map("".join))
def test_parse_of_mention_and_markup_laden_text_returns_a_result(text: str) -> None:
    result = parse(text)
    assert isinstance(result.relevant, bool)
    assert result.relevant or not result.denials




def test_a_diagnosis_of_a_key_policy_of_10000_statements_answers_and_renders_within_slack_limits() -> None:
    from bot.diagnosis.diagnose import diagnose
    from bot.ports import ThreadView
    from handlers.blocks import thread_message
    from tests.diagnosis.builders import admins, denial, key, principal, snapshot
    from tests.fakes.slack_limits import block_problems

    others = [{"Sid": f"S{i}", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{i:012d}:root"},
               "Action": "kms:Encrypt", "Resource": "*"} for i in range(10_000)]
    key_policy = {"Version": "2012-10-17", "Statement": [admins(), *others]}
    result = diagnose(denial(), snapshot(principal(), key(key_policy)))
    assert result.verdict == "implicit_deny"
    assert any(lock.layer == "key_policy" and lock.allows is False for lock in result.locks)
    message = thread_message(ThreadView(analysis_id="a", state="answered", diagnoses=(result,),
                                        proposal_ids=("p-1",)))
    assert block_problems(message["blocks"], limit=50) == []
