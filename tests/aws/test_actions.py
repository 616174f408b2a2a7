"""READER_ACTIONS, ORG_ACTIONS, WRITER_ACTIONS and BASE_ACTIONS are exactly the calls the code makes.

The role templates are built from these sets, so a call missing from them would be denied in a real
account, and an action listed but never called would be a needless permission. Every operation made
in the runs below is recorded with the role that made it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime

from botocore.stub import ANY

from bot.aws.actions import BASE_ACTIONS, ORG_ACTIONS, READER_ACTIONS, UNPERMISSIONED_ACTIONS, WRITER_ACTIONS
from bot.aws.collect import collect
from bot.aws.writer import apply_key_policy
from bot.demo.world import ADMINISTRATOR_ACCESS, World, default_key_policy
from bot.parse.models import Denial
from bot.policy_text import policy_sha256
from tests.aws.conftest import APP, DATA, MGMT, REGION
from tests.aws.faults import Faults

KMS_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}


def test_every_role_calls_exactly_its_listed_actions(accounts: World, faults: Faults) -> None:
    app = accounts.account(APP)
    boundary = app.create_policy("Boundary", KMS_ALL)
    app.create_role(
        "App", managed_policies=[ADMINISTRATOR_ACCESS], inline_policies={"k": KMS_ALL}, boundary=boundary
    )
    app.create_group("devs", managed_policies=[boundary], inline_policies={"g": KMS_ALL})
    app.create_user("alice", groups=["devs"], inline_policies={"u": KMS_ALL})
    key = accounts.account(DATA).create_key(default_key_policy(DATA), region=REGION)
    org = accounts.organization(MGMT)
    org.create_org_reader_role()
    org.add_account(APP)
    org.add_account(DATA)
    event = {
        "eventSource": "kms.amazonaws.com",
        "eventName": "Decrypt",
        "errorCode": "AccessDenied",
        "userIdentity": {"arn": f"arn:aws:iam::{APP}:user/alice"},
        "resources": [{"ARN": key}],
        "vpcEndpointId": app.create_kms_endpoint(region=REGION),
    }
    faults.stub(
        "cloudtrail",
        lambda stubber: stubber.add_response(
            "lookup_events",
            {
                "Events": [
                    {"EventId": "e", "EventTime": datetime.now(UTC), "CloudTrailEvent": json.dumps(event)}
                ]
            },
            {"LookupAttributes": ANY, "StartTime": ANY, "EndTime": ANY, "MaxResults": 50},
        ),
    )
    faults.fail("sts", "AssumeRole", code="AccessDenied", when=lambda p: "777788889999" in str(p["RoleArn"]))
    settings = accounts.settings(org_role_arn=f"arn:aws:iam::{MGMT}:role/kms-why-org-reader")
    sessions = accounts.session_factory(settings, on_client=faults.hook)

    collect(
        Denial(
            action="kms:Decrypt", principal_arn=f"arn:aws:sts::{APP}:assumed-role/App/s", resource_arn=key
        ),
        settings,
        request_id="a",
        sessions=sessions,
    )
    collect(
        Denial(
            action="kms:Decrypt",
            principal_arn=f"arn:aws:iam::{APP}:user/alice",
            region=REGION,
            denial_kind="key_not_found_or_denied",
        ),
        settings,
        request_id="b",
        sessions=sessions,
    )
    collect(
        Denial(
            action="kms:Decrypt", principal_arn="arn:aws:iam::777788889999:role/Elsewhere", resource_arn=key
        ),
        settings,
        request_id="c",
        sessions=sessions,
    )
    patched = {**default_key_policy(DATA), "Id": "patched"}
    apply_key_policy(
        sessions, key, patched, expected_sha256=policy_sha256(default_key_policy(DATA)), request_id="d"
    )

    by_role: dict[str, set[str]] = defaultdict(set)
    for role_arn, action in faults.operations:
        by_role[role_arn.rsplit("/", 1)[-1] if role_arn else "base"].add(action)
    assert by_role["kms-why-reader"] == READER_ACTIONS
    assert by_role["kms-why-org-reader"] == ORG_ACTIONS
    assert by_role["kms-why-writer"] == WRITER_ACTIONS
    assert by_role["base"] == BASE_ACTIONS | UNPERMISSIONED_ACTIONS
    assert set(by_role) == {"kms-why-reader", "kms-why-org-reader", "kms-why-writer", "base"}
