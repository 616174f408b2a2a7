"""The cause catalogue of kms-evaluation.md §4: stable codes, the row they belong to, and a sentence.

The row number is the public `cause.catalogue`; the code is the public `cause.code`. A code never
changes meaning: add new codes rather than rewording old ones into something else.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.diagnosis.models import Cause


@dataclass(frozen=True)
class CauseSpec:
    row: int
    code: str
    template: str  # str.format with the facts of the diagnosis (role, action, key, accounts, …)


_SPECS = (
    CauseSpec(
        0,
        "evidence_disagrees",
        "Everything the bot could read allows {role} to call {action} on this key, yet AWS denied it: "
        "something the bot could not see decides.",
    ),
    CauseSpec(
        0,
        "redacted_account",
        "The pasted error hides the account id, so the bot cannot tell which account to read.",
    ),
    CauseSpec(
        0,
        "key_policy_unreadable",
        "The bot could not read the key policy, so it cannot say which lock failed.",
    ),
    CauseSpec(
        0,
        "caller_unknown",
        "The paste does not say which role or user made the call, so the bot cannot weigh the policies.",
    ),
    CauseSpec(
        0,
        "key_unknown",
        "The error does not say which key was refused (AWS hides it across accounts and for AWS managed "
        "keys), and the bot could not recover it.",
    ),
    CauseSpec(0, "policy_unparseable", "A policy the bot read could not be evaluated: {explain}"),
    CauseSpec(0, "unclassified", "The request is denied by the {layer}, for a reason outside the catalogue."),
    CauseSpec(
        1,
        "iam_policy_missing_allow",
        "The key policy delegates to account {principal_account}, but no IAM policy of {role} allows "
        "{action} on this key.",
    ),
    CauseSpec(
        2,
        "key_policy_missing_principal_no_root_delegation",
        "The key policy neither names {role} nor delegates to the account, so IAM policies cannot help.",
    ),
    CauseSpec(
        3,
        "cross_account_key_policy_missing_caller",
        "Cross-account: the key policy in account {key_account} names neither {role} nor its account "
        "{principal_account}.",
    ),
    CauseSpec(
        4,
        "cross_account_iam_policy_missing_allow",
        "Cross-account: the key policy in account {key_account} trusts account {principal_account}, but "
        "no IAM policy of {role} allows {action} on the full key ARN.",
    ),
    CauseSpec(
        5,
        "key_policy_explicit_deny",
        "A Deny statement in the key policy ({statement}) matches this request.",
    ),
    CauseSpec(
        6,
        "identity_policy_explicit_deny",
        "A Deny statement in an IAM policy of {role} ({policy}, {statement}) matches this request.",
    ),
    CauseSpec(
        7,
        "scp_explicit_deny",
        "A service control policy ({policy}, statement {statement}) explicitly denies {action}; "
        "no key or IAM policy can override it.",
    ),
    CauseSpec(
        8,
        "scp_allow_list_gap",
        "An organization level above account {principal_account} has no SCP that allows {action} "
        "(allow-list SCPs).",
    ),
    CauseSpec(
        9, "rcp_denies", "A resource control policy on the key's account ({policy}) blocks this request."
    ),
    CauseSpec(
        10,
        "permissions_boundary_missing_allow",
        "The permissions boundary of {role} ({policy}) does not allow {action}.",
    ),
    CauseSpec(
        11,
        "session_policy_missing_allow",
        "The session policy passed when the role was assumed does not allow {action}.",
    ),
    CauseSpec(
        12,
        "vpc_endpoint_policy_blocks",
        "The KMS VPC endpoint policy does not let {role} call {action} on this key.",
    ),
    CauseSpec(
        13,
        "key_policy_requires_via_service",
        "The key-policy statement for {role} ({statement}) allows it only through {expected}, but the "
        "call was made to KMS directly.",
    ),
    CauseSpec(
        13,
        "key_policy_via_service_path_unknown",
        "The key-policy statement for {role} ({statement}) allows it only through {expected}; the paste does "
        "not say how the call was made: denied if KMS was called directly, allowed through that service.",
    ),
    CauseSpec(
        14,
        "key_policy_via_service_mismatch",
        "The key-policy statement for {role} ({statement}) requires kms:ViaService {expected}, but the "
        "call came through {actual}.",
    ),
    CauseSpec(
        15,
        "key_policy_caller_account_restricted",
        "The key-policy statement ({statement}) is limited to kms:CallerAccount {expected}; the caller is "
        "in account {principal_account}.",
    ),
    CauseSpec(
        16,
        "aws_managed_key_cross_account",
        "Cross-account: this is an AWS managed key of account {key_account}; its policy can never "
        "admit account {principal_account}.",
    ),
    CauseSpec(
        17,
        "aws_managed_key_direct_use",
        "This is an AWS managed key: it can only be used through its own service, not called directly.",
    ),
    CauseSpec(
        18,
        "encryption_context_condition_mismatch",
        "The key-policy statement ({statement}) requires encryption context {key} = {expected}, "
        "but the request carried {actual}.",
    ),
    CauseSpec(
        20,
        "invalid_ciphertext",
        "InvalidCiphertextException is no permission problem: the ciphertext or its encryption "
        "context does not match what was used to encrypt.",
    ),
    CauseSpec(
        21,
        "principal_org_id_condition",
        "The key-policy statement ({statement}) requires aws:PrincipalOrgID {expected}; {role} is "
        "not seen as part of that organization.",
    ),
    CauseSpec(
        22,
        "network_condition",
        "A statement ({statement}) tests the network path ({key}); this request's path does not satisfy it.",
    ),
    CauseSpec(
        23,
        "key_policy_dangling_unique_id",
        "The key policy names a deleted principal by its unique id ({expected}); the recreated {role} "
        "no longer matches it.",
    ),
    CauseSpec(
        24,
        "identity_center_role_mismatch",
        "The key policy names the IAM Identity Center role {expected}, but the caller is {role_arn}: the "
        "permission set's role changes its suffix (and path) when it is reassigned.",
    ),
    CauseSpec(
        25,
        "key_policy_names_session",
        "The key policy names a specific session ({expected}) instead of the role {role}.",
    ),
    CauseSpec(
        26,
        "iam_policy_resource_not_key_arn",
        "The IAM statement ({policy}, {statement}) names the key by {expected}; IAM only matches KMS keys "
        "by their key ARN.",
    ),
    CauseSpec(
        27,
        "multi_region_replica_arn",
        "The IAM statement ({policy}, {statement}) names the multi-Region key as {expected}; this call used "
        "the replica in {region}, which has its own ARN.",
    ),
    CauseSpec(
        28,
        "missing_workflow_action",
        "{role} may use this key for {granted} but not {action}, which this call needs.",
    ),
    CauseSpec(
        29,
        "create_grant_missing",
        "{role} may not call kms:CreateGrant on this key, which the AWS service needs to attach it.",
    ),
    CauseSpec(
        30,
        "grant_does_not_apply",
        "A grant for {role} exists on this key but does not cover this request ({explain}).",
    ),
    CauseSpec(
        31,
        "cross_account_operation_unsupported",
        "Cross-account: {action} cannot be used across accounts; it must be called from account "
        "{key_account}.",
    ),
    CauseSpec(33, "key_disabled", "The key is disabled: this is no permission problem."),
    CauseSpec(33, "key_pending_deletion", "The key is pending deletion: this is no permission problem."),
    CauseSpec(33, "key_unavailable", "The key is in state {state}: this is no permission problem."),
    CauseSpec(
        33,
        "key_not_found_wrong_region",
        "KMS could not find the key where it was asked for it (wrong Region, account or alias).",
    ),
    CauseSpec(
        34,
        "deny_not_principal_with_boundary",
        "The key policy's Deny with NotPrincipal ({statement}) always matches a role that has a "
        "permissions boundary, whatever NotPrincipal lists.",
    ),
)

CATALOGUE: dict[str, CauseSpec] = {spec.code: spec for spec in _SPECS}


class _Facts(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def make_cause(code: str, **facts: str | None) -> Cause:
    """The cause for `code`, its sentence filled with the facts known ('?' for the rest)."""
    spec = CATALOGUE[code]
    filled = _Facts({name: value for name, value in facts.items() if value})
    return Cause(catalogue=spec.row, code=spec.code, summary=spec.template.format_map(filled))
