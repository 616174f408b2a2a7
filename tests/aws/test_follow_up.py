"""Session policies from CloudTrail's AssumeRole records and KMS VPC endpoint policies (kms-evaluation.md §2
steps 26-27, §4 rows 11 and 12), read when the first answer cannot explain AWS's denial.

Moto lacks LookupEvents, so CloudTrail is answered by a `before-call` handler choosing the page by the lookup
attribute (the two lookups run concurrently, so a Stubber's fixed order would not do); moto itself serves
the VPC endpoint (with its policy document), IAM and KMS.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders

from bot.analysis import analyse_parsed
from bot.demo.world import ADMINISTRATOR_ACCESS, World, default_key_policy
from bot.diagnosis.models import Diagnosis
from bot.parse.models import Denial, ParseResult
from tests.aws.conftest import APP, REGION
from tests.aws.faults import Faults

SESSION = "etl-run-7"
CALLER = f"arn:aws:sts::{APP}:assumed-role/App/{SESSION}"
ROLE = f"arn:aws:iam::{APP}:role/App"
ONLY_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


def _record(event: dict[str, Any]) -> dict[str, Any]:
    return {"EventId": event.get("eventID", "e"), "EventTime": datetime.now(UTC),
            "CloudTrailEvent": json.dumps(event)}


def _assume_role(**params: Any) -> dict[str, Any]:
    return {"eventSource": "sts.amazonaws.com", "eventName": "AssumeRole", "eventID": "assume-1",
            "requestParameters": {"roleArn": ROLE, "roleSessionName": SESSION, **params}}


def _denied(key: str, **extra: Any) -> dict[str, Any]:
    return {"eventSource": "kms.amazonaws.com", "eventName": "Decrypt", "errorCode": "AccessDenied",
            "eventID": "denied-1", "userIdentity": {"type": "AssumedRole", "arn": CALLER},
            "sourceIPAddress": "10.0.1.5", "resources": [{"ARN": key}], **extra}


class Trail:
    """CloudTrail pages by lookup attribute value; records each lookup made."""

    def __init__(self, by_value: dict[str, list[dict[str, Any]]]) -> None:
        self.by_value = by_value
        self.lookups: list[str] = []

    def hook(self, faults: Faults) -> Any:
        def on_client(session: Any, service: str, client: Any) -> None:
            faults.hook(session, service, client)
            if service == "cloudtrail":
                client.meta.events.register("before-call.cloudtrail.LookupEvents", self._answer)
        return on_client

    def _answer(self, context: dict[str, Any], **_: Any) -> Any:
        value = context["test_params"]["LookupAttributes"][0]["AttributeValue"]  # kept by Faults.hook
        self.lookups.append(value)
        events = [_record(e) for e in self.by_value.get(value, [])]
        response = AWSResponse(url="https://stub.invalid/", status_code=200, headers=HTTPHeaders(), raw=None)
        return response, {"Events": events, "ResponseMetadata": {"HTTPStatusCode": 200}}


def _diagnose(accounts: World, faults: Faults, trail: Trail, denial: Denial) -> Diagnosis:
    settings = accounts.settings()
    sessions = accounts.session_factory(settings, on_client=trail.hook(faults))
    parsed = ParseResult(relevant=True, denials=[denial])
    (diagnosis,) = analyse_parsed(parsed, settings, request_id="t", sessions=sessions)
    return diagnosis


def _setup(accounts: World) -> str:
    app = accounts.account(APP)
    app.create_role("App", managed_policies=[ADMINISTRATOR_ACCESS])
    return app.create_key(default_key_policy(APP), region=REGION)


def _lock(d: Diagnosis, layer: str) -> Any:
    return next(lock for lock in d.locks if lock.layer == layer)


def test_row_11_inline_session_policy_from_the_assume_role_record(accounts: World, faults: Faults) -> None:
    key = _setup(accounts)
    trail = Trail({ROLE: [_assume_role(policy=json.dumps(ONLY_S3))], "Decrypt": [_denied(key)]})
    d = _diagnose(accounts, faults, trail, Denial(action="kms:Decrypt", principal_arn=CALLER,
                                                  resource_arn=key, denial_kind="no_session_allow"))
    assert (d.verdict, d.cause.catalogue) == ("implicit_deny", 11)
    assert d.cause.code == "session_policy_missing_allow"
    assert _lock(d, "session").allows is False and "session" not in d.unseen
    assert ROLE in trail.lookups
    assert "key_policy_patch" not in [fix.kind for fix in d.fixes]


def test_row_11_managed_session_policy_is_read_from_iam(accounts: World, faults: Faults) -> None:
    key = _setup(accounts)
    managed = accounts.account(APP).create_policy("VendedS3", ONLY_S3)
    trail = Trail({ROLE: [_assume_role(policyArns=[{"arn": managed}])]})
    d = _diagnose(accounts, faults, trail, Denial(action="kms:Decrypt", principal_arn=CALLER,
                                                  resource_arn=key, denial_kind="no_session_allow"))
    assert d.cause.code == "session_policy_missing_allow"
    assert _lock(d, "session").policy == managed


def test_no_session_policy_passed_means_session_is_not_unseen(accounts: World, faults: Faults) -> None:
    key = _setup(accounts)
    trail = Trail({ROLE: [_assume_role()]})
    d = _diagnose(accounts, faults, trail, Denial(action="kms:Decrypt", principal_arn=CALLER,
                                                  resource_arn=key, denial_kind="no_resource_allow"))
    assert d.cause.code == "evidence_disagrees"
    assert "session" not in d.unseen and "vpc_endpoint" in d.unseen


def test_without_the_assume_role_record_session_stays_unseen(accounts: World, faults: Faults) -> None:
    key = _setup(accounts)
    trail = Trail({})
    d = _diagnose(accounts, faults, trail, Denial(action="kms:Decrypt", principal_arn=CALLER,
                                                  resource_arn=key, denial_kind="no_resource_allow"))
    assert d.cause.code == "evidence_disagrees" and "session" in d.unseen
    assert any("no AssumeRole record" in line for line in d.unseen_details)


def test_an_ordinary_answer_makes_no_cloudtrail_lookup(accounts: World, faults: Faults) -> None:
    app = accounts.account(APP)
    app.create_role("App")  # no identity policy: row 1, decided by the first reads
    key = app.create_key(default_key_policy(APP), region=REGION)
    trail = Trail({})
    d = _diagnose(accounts, faults, trail, Denial(action="kms:Decrypt", principal_arn=CALLER,
                                                  resource_arn=key, denial_kind="no_identity_allow"))
    assert d.cause.catalogue == 1 and trail.lookups == []


def test_row_12_endpoint_policy_found_through_cloudtrail(accounts: World, faults: Faults) -> None:
    key = _setup(accounts)
    endpoint = accounts.account(APP).create_kms_endpoint(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*"}]},
        region=REGION,
    )
    trail = Trail({ROLE: [_assume_role()], "Decrypt": [_denied(key, vpcEndpointId=endpoint)]})
    d = _diagnose(accounts, faults, trail, Denial(action="kms:Decrypt", principal_arn=CALLER,
                                                  resource_arn=key, denial_kind="no_vpce_allow"))
    assert (d.verdict, d.cause.catalogue, d.cause.code) == ("implicit_deny", 12, "vpc_endpoint_policy_blocks")
    assert _lock(d, "vpc_endpoint").allows is False and endpoint in (_lock(d, "vpc_endpoint").policy or "")
    assert d.aws_calls > 0 and d.round_trips >= 3


def test_row_12_explicit_deny_with_the_endpoint_named_in_the_paste(accounts: World, faults: Faults) -> None:
    key = _setup(accounts)
    endpoint = accounts.account(APP).create_kms_endpoint(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
            {"Sid": "NoDecrypt", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt",
             "Resource": "*"},
        ]},
        region=REGION,
    )
    message = f"User: {CALLER} is not authorized to perform: kms:Decrypt (via {endpoint})"
    d = _diagnose(accounts, faults, Trail({}), Denial(
        action="kms:Decrypt", principal_arn=CALLER, resource_arn=key, denial_kind="explicit_deny_vpce",
        message=message))
    assert (d.verdict, d.cause.code) == ("explicit_deny", "vpc_endpoint_policy_blocks")
    assert _lock(d, "vpc_endpoint").statement == "NoDecrypt"


def test_endpoint_read_denied_is_unseen_with_the_statement(accounts: World, faults: Faults) -> None:
    key = _setup(accounts)
    endpoint = accounts.account(APP).create_kms_endpoint(region=REGION)
    faults.fail("ec2", "DescribeVpcEndpoints", code="UnauthorizedOperation")
    d = _diagnose(accounts, faults, Trail({}), Denial(
        action="kms:Decrypt", principal_arn=CALLER, resource_arn=key, denial_kind="no_vpce_allow",
        message=f"denied through {endpoint}"))
    assert "vpc_endpoint" in d.unseen
    assert any(line.startswith("vpc_endpoint: DescribeVpcEndpoints") and "Add this statement" in line
               for line in d.unseen_details)

