"""The policy of the KMS VPC endpoint a denied call went through (kms-evaluation.md §2 step 27, §4 row 12).

Only read when CloudTrail (`vpcEndpointId`) or the paste names the endpoint: a request through an
interface endpoint must also be allowed by the endpoint's policy. The endpoint lives in the VPC owner's
account, which is the caller's in the usual setup, and in the Region of the call.
"""

from __future__ import annotations

import re

from bot.aws.iam_policies import decode_document
from bot.aws.sessions import AccountSession
from bot.aws.unseen import identity_statement, is_aws_error, read_failed
from bot.snapshot import Json, NamedPolicy, Unseen

FULL_ACCESS: Json = {
    "Version": "2008-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
}
_ENDPOINT_ID = re.compile(r"\bvpce-[0-9a-f]{8,17}\b")


def endpoint_in(text: str | None) -> str | None:
    """The first VPC endpoint id (`vpce-…`) a pasted error names, if any."""
    match = _ENDPOINT_ID.search(text or "")
    return match.group(0) if match else None


def read_endpoint_policy(
    session: AccountSession, region: str, endpoint_id: str
) -> tuple[NamedPolicy | None, list[Unseen]]:
    """DescribeVpcEndpoints for one endpoint: its policy, or what kept the bot from seeing it."""
    target = f"VPC endpoint {endpoint_id} in {session.account} {region}"
    try:
        found = session.ec2(region).describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        return None, [read_failed(
            "vpc_endpoint", "DescribeVpcEndpoints", target, session.role_arn, exc,
            statement=identity_statement(["ec2:DescribeVpcEndpoints"], ["*"]),
            where=f"the identity policy of {session.role_arn}")]
    endpoints = found.get("VpcEndpoints", [])
    if not endpoints:
        return None, [Unseen(what="vpc_endpoint",
                             reason=f"{target} was not found (it may belong to another account's VPC)")]
    text = endpoints[0].get("PolicyDocument")
    try:
        # An endpoint without a policy document has the default full-access policy.
        document = decode_document(text) if text else FULL_ACCESS
    except ValueError as exc:
        return None, [Unseen(what="vpc_endpoint", reason=f"the policy of {target} is not valid JSON: {exc}")]
    return NamedPolicy(name=f"VPC endpoint {endpoint_id}", arn=None, kind="vpce", document=document), []
