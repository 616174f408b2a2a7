"""Recovering the key and its context from CloudTrail (moto lacks LookupEvents: botocore Stubber)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from botocore.stub import ANY, Stubber

from bot.aws.cloudtrail import lookup_denied_call
from bot.aws.collect import collect
from bot.demo.world import World
from bot.parse.models import Denial
from tests.aws.conftest import APP, DATA, REGION
from tests.aws.faults import Faults

CALLER = f"arn:aws:sts::{APP}:assumed-role/App/i-0abc"
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def _record(event_id: str, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "EventId": event_id,
        "EventName": event.get("eventName", "Decrypt"),
        "EventTime": NOW,
        "CloudTrailEvent": json.dumps(event),
    }


def _denied_decrypt(key_arn: str, caller: str = CALLER, **extra: Any) -> dict[str, Any]:
    return {
        "eventSource": "kms.amazonaws.com",
        "eventName": "Decrypt",
        "awsRegion": REGION,
        "userIdentity": {"type": "AssumedRole", "arn": caller, "invokedBy": "s3.amazonaws.com"},
        "sourceIPAddress": "s3.amazonaws.com",
        "errorCode": "AccessDenied",
        "requestParameters": {
            "encryptionContext": {"aws:s3:arn": "arn:aws:s3:::bucket/report.csv"},
            "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
        },
        "resources": [{"ARN": key_arn, "type": "AWS::KMS::Key", "accountId": DATA}],
        **extra,
    }


def _pages(*pages: list[dict[str, Any]]) -> Any:
    def setup(stubber: Stubber) -> None:
        for index, events in enumerate(pages):
            response: dict[str, Any] = {"Events": events}
            if index < len(pages) - 1:
                response["NextToken"] = f"page-{index + 1}"
            stubber.add_response(
                "lookup_events",
                response,
                {
                    "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "Decrypt"}],
                    "StartTime": ANY,
                    "EndTime": ANY,
                    "MaxResults": 50,
                    **({"NextToken": f"page-{index}"} if index else {}),
                },
            )

    return setup


def test_newest_failed_call_by_the_same_caller_gives_key_context_and_service(
    accounts: World, faults: Faults
) -> None:
    key = f"arn:aws:kms:{REGION}:{DATA}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    other = _denied_decrypt(key, caller=f"arn:aws:sts::{APP}:assumed-role/Other/x")
    succeeded = {**_denied_decrypt(key), "errorCode": None}
    faults.stub(
        "cloudtrail",
        _pages(
            [_record("e1", other), _record("e2", succeeded)],
            [_record("e3", _denied_decrypt(key, vpcEndpointId="vpce-0abc"))],
        ),
    )
    session = accounts.session_factory(accounts.settings(), on_client=faults.hook).reader(APP, "t")
    trail, unseen = lookup_denied_call(
        session, REGION, action="kms:Decrypt", principal_arn=CALLER, now=lambda: NOW
    )
    assert unseen == []
    assert trail is not None
    assert (trail.event_id, trail.key_arn, trail.error_code) == ("e3", key, "AccessDenied")
    assert trail.encryption_context == {"aws:s3:arn": "arn:aws:s3:::bucket/report.csv"}
    assert trail.invoked_by == "s3.amazonaws.com"
    assert trail.source_ip is None  # the service's name stood in for an address
    assert trail.vpc_endpoint_id == "vpce-0abc"
    for stubber in faults.stubs.values():
        stubber.assert_no_pending_responses()  # both pages were asked for


def test_lookup_denied_is_unseen_with_the_statement_that_allows_it(accounts: World, faults: Faults) -> None:
    faults.stub(
        "cloudtrail",
        lambda stubber: stubber.add_client_error(
            "lookup_events", service_error_code="AccessDeniedException", http_status_code=400
        ),
    )
    session = accounts.session_factory(accounts.settings(), on_client=faults.hook).reader(APP, "t")
    trail, unseen = lookup_denied_call(session, REGION, action="kms:Decrypt", principal_arn=CALLER)
    assert trail is None
    (entry,) = unseen
    assert entry.what == "key_policy" and "LookupEvents" in entry.reason
    assert entry.remedy_statement == {
        "Effect": "Allow",
        "Action": ["cloudtrail:LookupEvents"],
        "Resource": ["*"],
    }


def test_collect_reads_the_key_cloudtrail_names_when_the_paste_does_not(
    accounts: World, faults: Faults
) -> None:
    key = accounts.account(DATA).create_key(region=REGION)
    accounts.account(APP).create_role("App")
    faults.stub("cloudtrail", _pages([_record("e1", _denied_decrypt(key))]))
    denial = Denial(
        action="kms:Decrypt",
        principal_arn=CALLER,
        region=REGION,
        denial_kind="key_not_found_or_denied",
        message="null (Service: AWSKMS; Status Code: 400)",
    )
    settings = accounts.settings()
    snapshot = collect(
        denial, settings, request_id="t", sessions=accounts.session_factory(settings, on_client=faults.hook)
    )
    assert snapshot.trail is not None and snapshot.trail.key_arn == key
    assert snapshot.key is not None and snapshot.key.arn == key and snapshot.key.policy is not None
    assert snapshot.principal is not None and snapshot.principal.role_arn == f"arn:aws:iam::{APP}:role/App"
    assert snapshot.unseen == ()
    # AssumeRole, LookupEvents, AssumeRole in the key's account, the key's reads
    assert snapshot.round_trips == 4


def test_no_event_found_says_the_key_is_unseen_and_why(accounts: World, faults: Faults) -> None:
    accounts.account(APP).create_role("App")
    faults.stub("cloudtrail", _pages([]))
    denial = Denial(
        action="kms:Decrypt", principal_arn=CALLER, region=REGION, denial_kind="key_not_found_or_denied"
    )
    settings = accounts.settings()
    snapshot = collect(
        denial, settings, request_id="t", sessions=accounts.session_factory(settings, on_client=faults.hook)
    )
    assert snapshot.key is None and snapshot.trail is None
    (entry,) = snapshot.unseen
    assert entry.what == "key_policy" and "shows no failed kms:Decrypt call" in entry.reason


def test_vague_error_naming_the_key_takes_context_from_a_call_on_that_key(
    accounts: World, faults: Faults
) -> None:
    key = accounts.account(DATA).create_key(region=REGION)
    other = f"arn:aws:kms:{REGION}:{DATA}:key/00000000-1111-2222-3333-444444444444"
    accounts.account(APP).create_role("App")
    on_other = _denied_decrypt(other)
    by_id = {
        **_denied_decrypt(key),
        "resources": [],
        "requestParameters": {"keyId": key.rsplit("/", 1)[1], "encryptionContext": {"tenant": "blue"}},
    }
    faults.stub("cloudtrail", _pages([_record("newer", on_other), _record("mine", by_id)]))
    regions: list[str] = []

    def hook(session: Any, service: str, client: Any) -> None:
        faults.hook(session, service, client)
        if service == "cloudtrail":
            regions.append(client.meta.region_name)

    denial = Denial(
        action="kms:Decrypt", principal_arn=CALLER, resource_arn=key, denial_kind="key_not_found_or_denied"
    )
    settings = accounts.settings(aws_default_region="us-east-1")
    snapshot = collect(
        denial, settings, request_id="t", sessions=accounts.session_factory(settings, on_client=hook)
    )
    assert snapshot.trail is not None and snapshot.trail.event_id == "mine"
    assert snapshot.trail.encryption_context == {"tenant": "blue"}
    assert regions == [REGION]  # KMS calls are logged in the key's Region
    assert snapshot.key is not None and snapshot.key.policy is not None
