"""The exact IAM actions each kms-why role needs: the collectors call these and nothing else.

`deploy/iam/` builds the role templates from these sets, and `tests/aws/test_actions.py` checks them
against the operations the collectors really make, so change them together with the code.
"""

from __future__ import annotations

# Made with the reader role, assumed in every account involved (principal's and key's).
READER_ACTIONS: frozenset[str] = frozenset(
    {
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:ListGrants",
        "kms:ListAliases",
        "kms:ListResourceTags",
        "iam:GetRole",
        "iam:ListAttachedRolePolicies",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:GetUser",
        "iam:ListGroupsForUser",
        "iam:ListAttachedUserPolicies",
        "iam:ListUserPolicies",
        "iam:GetUserPolicy",
        "iam:ListAttachedGroupPolicies",
        "iam:ListGroupPolicies",
        "iam:GetGroupPolicy",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
        "cloudtrail:LookupEvents",
        "ec2:DescribeVpcEndpoints",
    }
)

# Made with the role named by KMS_WHY_ORG_ROLE_ARN (management or delegated-admin account).
ORG_ACTIONS: frozenset[str] = frozenset(
    {
        "organizations:DescribeOrganization",
        "organizations:ListRoots",
        "organizations:ListParents",
        "organizations:ListPoliciesForTarget",
        "organizations:DescribePolicy",
    }
)

# Made with the writer role, assumed only in the key's account to apply an approved patch.
WRITER_ACTIONS: frozenset[str] = frozenset({"kms:GetKeyPolicy", "kms:PutKeyPolicy"})

# Made with the bot's own (ambient) credentials: the trust policies of the roles above must allow it.
BASE_ACTIONS: frozenset[str] = frozenset({"sts:AssumeRole"})

# Also made with the bot's own credentials, but AWS never requires a permission for it: it names the
# bot in the trust statement offered when an AssumeRole is denied. No template grants it.
UNPERMISSIONED_ACTIONS: frozenset[str] = frozenset({"sts:GetCallerIdentity"})
