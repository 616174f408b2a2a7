"""Three-valued evaluation: unknown context keys (kms-evaluation.md §2.18 and §2.38)."""

from __future__ import annotations

from .helpers import ROLE, SESSION, allow, policy, root_delegation, run

VIA_S3 = "s3.us-east-1.amazonaws.com"


def via_only_key_policy() -> dict[str, object]:
    return policy(allow(Principal={"AWS": ROLE}, Condition={"StringEquals": {"kms:ViaService": VIA_S3}}))


def test_unknown_via_service_names_the_value_that_allows_section_2_38() -> None:
    result = run(SESSION, key_policy=via_only_key_policy(), unknown_keys=("kms:ViaService",))
    assert result.decided_by_unknown is True
    assert result.decision == "implicit_deny"
    assert len(result.unknowns) == 1
    unknown = result.unknowns[0]
    assert unknown.key == "kms:ViaService"
    assert unknown.allow_if == (VIA_S3,)
    assert unknown.allow_if_absent is False
    assert result.layer("key_policy").allows is None  # type: ignore[union-attr]


def test_unknown_key_that_does_not_matter_is_not_reported_section_2_38() -> None:
    result = run(
        SESSION,
        key_policy=root_delegation(),
        identity_policies=[policy(allow())],
        unknown_keys=("aws:SourceVpce",),
    )
    assert result.decided_by_unknown is False
    assert result.unknowns == ()
    assert result.decision == "allow"


def test_unknown_key_overrides_a_given_value_section_2_18() -> None:
    result = run(
        SESSION,
        key_policy=via_only_key_policy(),
        context={"kms:ViaService": VIA_S3},
        unknown_keys=("kms:ViaService",),
    )
    assert result.decided_by_unknown is True


def test_negated_deny_on_unknown_key_section_2_38() -> None:
    key_policy = policy(
        allow(Principal={"AWS": ROLE}),
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "kms:*",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}},
        },
    )
    result = run(SESSION, key_policy=key_policy, unknown_keys=("aws:SourceVpce",))
    assert result.decision == "explicit_deny"
    assert result.decided_by_unknown is True
    assert result.unknowns[0].allow_if == ("vpce-1",)
    assert result.unknowns[0].allow_if_absent is False


def test_unknown_implied_key_is_not_filled_in_section_2_18() -> None:
    key_policy = policy(
        allow(Principal="*", Condition={"StringEquals": {"kms:CallerAccount": "111122223333"}})
    )
    known = run(SESSION, key_policy=key_policy)
    assert known.decision == "allow"
    unknown = run(SESSION, key_policy=key_policy, unknown_keys=("kms:CallerAccount",))
    assert unknown.decided_by_unknown is True
    assert unknown.unknowns[0].allow_if == ("111122223333",)


def test_unknown_encryption_context_uses_grant_constraint_values_section_2_38() -> None:
    grant = {
        "GranteePrincipal": ROLE,
        "Operations": ["Decrypt"],
        "Constraints": {"EncryptionContextSubset": {"k": "v"}},
    }
    result = run(SESSION, key_policy=policy(), grants=[grant], unknown_keys=("kms:EncryptionContext:k",))
    assert result.decided_by_unknown is True
    assert result.unknowns[0].allow_if == ("v",)


def test_unknown_numeric_key_tries_both_sides_of_the_bound_section_2_38() -> None:
    key_policy = policy(allow(Principal={"AWS": ROLE}, Condition={"NumericLessThan": {"kms:MaxAge": "10"}}))
    result = run(SESSION, key_policy=key_policy, unknown_keys=("kms:MaxAge",))
    assert result.decided_by_unknown is True
    assert result.unknowns[0].allow_if == ("9",)


def test_unknown_date_key_tries_both_sides_of_the_bound_section_2_38() -> None:
    key_policy = policy(
        allow(
            Principal={"AWS": ROLE}, Condition={"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}
        )
    )
    result = run(SESSION, key_policy=key_policy, unknown_keys=("aws:CurrentTime",))
    assert result.unknowns[0].allow_if == ("2029-12-31T23:59:59Z",)


def test_an_unknown_key_compared_with_infinity_is_tried_with_a_finite_value_section_2_38() -> None:
    # "inf" parses as a number (so the policy is valid) but has no integer neighbours: trying values on
    # either side of it used to raise OverflowError. A finite number is tried instead.
    key_policy = policy(
        allow(Principal={"AWS": ROLE}, Condition={"NumericLessThan": {"aws:MultiFactorAuthAge": "inf"}})
    )
    result = run(SESSION, key_policy=key_policy, unknown_keys=("aws:MultiFactorAuthAge",))
    assert result.decided_by_unknown is True
    assert result.unknowns[0].allow_if == ("0",)
    assert result.unknowns[0].allow_if_absent is False


def test_an_unknown_key_compared_with_the_last_representable_date_is_tried_below_it_section_2_38() -> None:
    # A second past 9999-12-31T23:59:59Z has no ISO form (datetime's range ends there): trying it used to
    # raise ValueError. Only the side that exists is tried.
    for bound, allowed in (("9999-12-31T23:59:59Z", "9999-12-31T23:59:58Z"), ("0001-01-01T00:00:00Z", None)):
        key_policy = policy(
            allow(Principal={"AWS": ROLE}, Condition={"DateLessThan": {"aws:CurrentTime": bound}})
        )
        result = run(SESSION, key_policy=key_policy, unknown_keys=("aws:CurrentTime",))
        if allowed is None:
            assert result.decided_by_unknown is False and result.decision == "implicit_deny"
        else:
            assert result.decided_by_unknown is True
            assert result.unknowns[0].allow_if == (allowed,)
