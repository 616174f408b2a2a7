"""The engine's caches (compiled policies by content, plans per action and caller, outcomes per
context, shared result objects, whole results) never change an answer: a warm engine answers every
document exactly as a cold one does, misses and three-valued fields included (kms-evaluation.md §2:
an evaluation is a function of the document alone)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.policy import PolicyError, evaluate
from bot.policy.evaluate import clear_caches
from bot.policy.simulation import SimulationDocument

from .helpers import KEY, SESSION, allow, deny, policy, root_delegation
from .test_properties import SETTINGS, documents

unknowns = st.sampled_from([(), ("kms:ViaService",), ("aws:PrincipalArn", "kms:EncryptionContext:k")])
CALLERS = [
    SESSION,
    SESSION.rsplit("/", 1)[0] + "/another-session",
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::111122223333:root",
    "arn:aws:iam::444455556666:role/Partner",
    "arn:aws:sts::111122223333:assumed-role/AWSServiceRoleForSomething/s",
    "logs.us-east-1.amazonaws.com",
]


def _answer(raw: dict[str, Any], explain: bool = True) -> dict[str, Any] | str:
    try:
        return evaluate(SimulationDocument.model_validate(copy.deepcopy(raw)), explain).model_dump()
    except PolicyError as error:
        return f"PolicyError: {error}"


@settings(SETTINGS, max_examples=40)
@given(st.lists(st.tuples(documents, unknowns), min_size=2, max_size=6))
def test_a_warm_engine_answers_like_a_cold_one(batch: list[tuple[dict[str, Any], tuple[str, ...]]]) -> None:
    raws = [{**raw, "request": {**raw["request"], "unknown_keys": list(keys)}} for raw, keys in batch]
    # The first document's policies in every document (requests differ), so that plans and outcomes
    # computed for one request are looked up for the others.
    for raw in raws[1:]:
        raw.update({name: value for name, value in raws[0].items() if name != "request"})
    warm = [_answer(raw) for raw in raws] + [_answer(raw) for raw in reversed(raws)]
    cold = []
    for raw in raws + raws[::-1]:
        clear_caches()
        cold.append(_answer(raw))
    assert warm == cold


@settings(SETTINGS, max_examples=40)
@given(st.lists(st.tuples(documents, unknowns), min_size=2, max_size=6), st.sampled_from(CALLERS))
def test_a_warm_engine_answers_like_a_cold_one_without_explanations(
    batch: list[tuple[dict[str, Any], tuple[str, ...]]], other: str
) -> None:
    """Without explanations, callers that the policies name alike share plans, outcomes and verdicts:
    the same policies for several callers, sessions of one role among them, must not mix answers."""
    raws = [{**raw, "request": {**raw["request"], "unknown_keys": list(keys)}} for raw, keys in batch]
    for position, raw in enumerate(raws[1:], start=1):
        raw.update({name: value for name, value in raws[0].items() if name != "request"})
        if position % 2:
            raw["request"] = {**raw["request"], "principal": other}
    warm = [_answer(raw, explain=False) for raw in raws + raws[::-1]]
    cold = []
    for raw in raws + raws[::-1]:
        clear_caches()
        cold.append(_answer(raw, explain=False))
    assert warm == cold


def test_same_policies_other_context_is_not_served_from_the_cache() -> None:
    key_policy = root_delegation()
    identity = policy(
        allow("kms:Decrypt", KEY),
        deny("kms:*", Condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}),
    )
    base = {"principal": SESSION, "action": "kms:Decrypt", "resource": KEY}
    answers = [
        _answer(
            {
                "request": {**base, "context": {"aws:SourceVpce": vpce}},
                "key_policy": key_policy,
                "identity_policies": [identity],
            }
        )
        for vpce in ("vpce-1", "vpce-2", "vpce-1")
    ]
    assert [a["decision"] for a in answers if isinstance(a, dict)] == ["allow", "explicit_deny", "allow"]


@settings(SETTINGS, max_examples=60)
@given(documents, unknowns, st.sampled_from(CALLERS))
def test_explanations_change_only_the_misses(raw: dict[str, Any], keys: tuple[str, ...], caller: str) -> None:
    """The two modes plan differently (per caller with misses, per naming without), yet agree on
    everything but `misses` (kms-evaluation.md §2, result: misses explain, they never decide)."""
    raw = {**raw, "request": {**raw["request"], "principal": caller, "unknown_keys": list(keys)}}
    full, brief = _answer(raw), _answer(raw, explain=False)
    if isinstance(full, str) or isinstance(brief, str):
        assert full == brief
        return
    assert brief["misses"] == ()
    assert {**full, "misses": ()} == brief
