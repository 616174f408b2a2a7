"""deploy/iam/: every role grants exactly the actions the code makes with it, and trusts only the bot."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.aws.actions import BASE_ACTIONS, ORG_ACTIONS, READER_ACTIONS, WRITER_ACTIONS
from bot.settings import Settings

IAM = Path(__file__).resolve().parents[2] / "deploy" / "iam"

# kms actions authorised on the account, not on a key: a key policy cannot grant them.
ACCOUNT_LEVEL_KMS = frozenset({"kms:ListAliases", "kms:CreateKey", "kms:ListKeys"})


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !Sub, !If ...) as their long form."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def _template(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((IAM / name).read_text(), Loader=_CfnLoader)  # a SafeLoader subclass
    return loaded


def _roles(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _granted(role: dict[str, Any]) -> set[str]:
    actions: set[str] = set()
    for policy in role["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions |= set(_as_list(statement["Action"]))
    return actions


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("reader-role.yaml", READER_ACTIONS),
        ("writer-role.yaml", WRITER_ACTIONS),
        ("org-reader-role.yaml", ORG_ACTIONS),
        ("bot-role.yaml", BASE_ACTIONS),
    ],
)
def test_each_role_grants_exactly_the_actions_the_code_makes_with_it(
    template: str, expected: frozenset[str]
) -> None:
    (role,) = _roles(_template(template))
    granted = _granted(role)
    assert granted - expected == set(), "granted but never called"
    assert expected - granted == set(), "called but not granted"
    assert not any("*" in action for action in granted)


@pytest.mark.parametrize("template", ["reader-role.yaml", "writer-role.yaml", "org-reader-role.yaml"])
def test_the_roles_trust_only_the_bot_base_role(template: str) -> None:
    loaded = _template(template)
    (role,) = _roles(loaded)
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"AWS": {"Ref": "BotRoleArn"}}
    assert statement["Action"] == "sts:AssumeRole"
    # The optional ExternalId condition, present exactly when the parameter is set.
    condition = statement["Condition"]["Fn::If"]
    assert condition[0] == "HasExternalId"
    assert condition[1] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}
    assert loaded["Parameters"]["ExternalId"]["NoEcho"] is True


def test_the_reader_is_stackset_ready() -> None:
    # One template for every account: nothing account-specific but pseudo parameters, and every
    # parameter has a default except the one value all accounts share.
    loaded = _template("reader-role.yaml")
    assert [name for name, p in loaded["Parameters"].items() if "Default" not in p] == ["BotRoleArn"]
    assert "Export" not in json.dumps(loaded.get("Outputs", {}))
    assert re.search(r"\b[0-9]{12}\b", (IAM / "reader-role.yaml").read_text()) is None


def test_default_role_names_match_the_settings_defaults() -> None:
    settings = Settings()
    assert _template("reader-role.yaml")["Parameters"]["RoleName"]["Default"] == settings.reader_role
    assert _template("writer-role.yaml")["Parameters"]["RoleName"]["Default"] == settings.writer_role
    bot = _template("bot-role.yaml")["Parameters"]
    assert (bot["ReaderRoleName"]["Default"], bot["WriterRoleName"]["Default"]) == (
        settings.reader_role,
        settings.writer_role,
    )


def test_the_writer_can_be_limited_to_tagged_keys_of_its_own_account() -> None:
    (role,) = _roles(_template("writer-role.yaml"))
    (statement,) = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:kms:*:${AWS::AccountId}:key/*"}
    on_tag = statement["Condition"]["Fn::If"]
    assert on_tag[0] == "TaggedOnly"
    assert on_tag[1] == {"StringEquals": {"aws:ResourceTag/kms-why-patchable": "true"}}


def test_the_bot_role_assumes_only_the_kms_why_roles() -> None:
    (role,) = _roles(_template("bot-role.yaml"))
    (statement,) = role["Policies"][0]["PolicyDocument"]["Statement"]
    with_org, without_org = statement["Resource"]["Fn::If"][1:]
    subs = [r["Fn::Sub"] for r in without_org]
    assert subs == [
        "arn:${AWS::Partition}:iam::*:role/${ReaderRoleName}",
        "arn:${AWS::Partition}:iam::*:role/${WriterRoleName}",
    ]
    assert with_org[-1] == {"Ref": "OrgReaderRoleArn"}


def test_the_key_policy_statement_lets_the_reader_read_the_key_and_nothing_more() -> None:
    statement = json.loads((IAM / "key-policy-statement.json").read_text())
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::ACCOUNT_ID:role/{Settings().reader_role}"}
    assert statement["Resource"] == "*"  # in a key policy, "*" is the key itself
    key_reads = {a for a in READER_ACTIONS if a.startswith("kms:")} - ACCOUNT_LEVEL_KMS
    assert set(statement["Action"]) == key_reads
