"""ThreadView -> Block Kit: every state, marks and layer names, Approve only for a proven patch on a
customer-managed key, Slack's limits (checked by the fake's own validator), and escaping."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.diagnosis.models import Cause, Diagnosis, Fix, Lock
from bot.parse.models import Denial
from bot.ports import ThreadState, ThreadView
from handlers.blocks import ACTION_APPROVE, ACTION_FULL_DIFF, ACTION_REJECT, ACTION_REVERT, thread_message
from tests.fakes.slack_api import iter_texts
from tests.fakes.slack_limits import block_problems

KEY = "arn:aws:kms:ap-northeast-1:444455556666:key/abc-123"
ROLE = "arn:aws:iam::111122223333:role/MyRole"


def diagnosis(**changes: Any) -> Diagnosis:
    fields: dict[str, Any] = {
        "denial": Denial(action="kms:Decrypt", principal_arn=ROLE, resource_arn=KEY, key_id="abc-123"),
        "verdict": "implicit_deny",
        "cause": Cause(catalogue=2, code="key_policy_missing_principal_no_root_delegation",
                       summary="The key policy neither names MyRole nor delegates to the account."),
        "locks": (Lock(layer="identity", allows=True, policy="arn:aws:iam::aws:policy/AdministratorAccess",
                       statement="0"),
                  Lock(layer="key_policy", allows=False, policy=KEY),
                  Lock(layer="scp", allows=None)),
        "unseen": ("scp",),
        "unseen_details": ("The SCPs could not be read: no KMS_WHY_ORG_ROLE_ARN is configured.",),
        "fixes": (Fix(kind="key_policy_patch", summary="Add a statement allowing MyRole to decrypt.",
                      diff='+ {"Sid": "AllowMyRole", "Effect": "Allow"}', policy_sha256_before="a" * 64,
                      verified=True, key_arn=KEY, policy_after={"Statement": []},
                      commands=("aws kms get-key-policy --key-id " + KEY + " --policy-name default",)),),
        "key_manager": "CUSTOMER",
    }
    fields.update(changes)
    return Diagnosis(**fields)


def view(state: ThreadState = "answered", *diagnoses: Diagnosis, **changes: Any) -> ThreadView:
    shown = diagnoses or (diagnosis(),)
    fields: dict[str, Any] = {"analysis_id": "message:C1:1.2", "state": state, "diagnoses": shown,
                              "proposal_ids": tuple("p-1" for _ in shown)}
    fields.update(changes)
    return ThreadView(**fields)


def texts(message: dict[str, Any]) -> str:
    return "\n".join(iter_texts(message["blocks"]))


def mrkdwn_texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            return [str(node["text"])]
        return [t for value in node.values() for t in mrkdwn_texts(value)]
    if isinstance(node, list):
        return [t for item in node for t in mrkdwn_texts(item)]
    return []


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_answered_names_what_whom_key_locks_cause_patch_proof_and_commands() -> None:
    message = thread_message(view())
    shown = texts(message)
    assert "kms:Decrypt" in shown and ROLE in shown and KEY in shown
    assert "✅ *IAM policy* allows" in shown and "AdministratorAccess" in shown and "statement `0`" in shown
    assert "❌ *key policy* does not allow" in shown and "❔ *SCP* could not be read" in shown
    assert "*Blocked by:* key policy" in shown
    assert "neither names MyRole" in shown
    assert "*Could not see:* `scp`" in shown and "KMS_WHY_ORG_ROLE_ARN" in shown
    assert '+ {"Sid": "AllowMyRole", "Effect": "Allow"}' in shown and "*Proven:*" in shown
    assert "aws kms get-key-policy --key-id" in shown
    assert "kms:Decrypt denied" in message["text"] and "neither names MyRole" in message["text"]
    assert block_problems(message["blocks"], limit=50) == []


def test_approve_and_reject_buttons_carry_only_the_proposal_id() -> None:
    approve, reject = buttons(thread_message(view()))
    assert approve["action_id"] == ACTION_APPROVE and "Approve" in approve["text"]["text"]
    assert approve["value"] == "p-1" and reject["action_id"] == ACTION_REJECT and reject["value"] == "p-1"


@pytest.mark.parametrize(
    "changes",
    [
        {"key_manager": "AWS"},
        {"fixes": (Fix(kind="key_policy_patch", summary="s", diff="+x", verified=False, key_arn=KEY,
                       policy_after={}, policy_sha256_before="a" * 64),)},
        {"fixes": (Fix(kind="iam_policy_patch", summary="Allow kms:Decrypt in the role's policy",
                       verified=True, statement={"Effect": "Allow"}),)},
        {"fixes": ()},
    ],
    ids=["aws-managed-key", "unverified-patch", "iam-fix", "no-fix"],
)
def test_no_approve_without_a_proven_key_policy_patch_on_a_customer_key(changes: dict[str, Any]) -> None:
    message = thread_message(view("answered", diagnosis(**changes)))
    assert [b for b in buttons(message) if b["action_id"] == ACTION_APPROVE] == []


def test_no_approve_button_without_a_proposal_id() -> None:
    assert buttons(thread_message(view(proposal_ids=(None,)))) == []


@pytest.mark.parametrize(
    ("state", "words"),
    [("analysing", "Analysing"), ("applied", "applied"), ("rejected", "rejected"), ("reverted", "reverted"),
     ("expired", "expired"), ("failed", "failed")],
)
def test_every_state_says_so_in_blocks_and_fallback_without_approve(state: ThreadState, words: str) -> None:
    message = thread_message(view(state, status_line="by <@U0APPROVER>: ticket <!channel>"))
    assert words in texts(message) and words in message["text"]
    assert "<@U0APPROVER>" in message["text"] and "<!channel>" not in json.dumps(message)
    assert [b for b in buttons(message) if b["action_id"] in (ACTION_APPROVE, ACTION_REJECT)] == []
    assert block_problems(message["blocks"], limit=50) == []


def test_analysing_placeholder_has_no_diagnosis() -> None:
    message = thread_message(ThreadView(analysis_id="a", state="analysing"))
    assert "Analysing" in texts(message) and len(message["blocks"]) == 1


def test_applied_offers_revert_when_there_is_one() -> None:
    message = thread_message(view("applied", revert_proposal_id="p-1"))
    [revert] = buttons(message)
    assert revert["action_id"] == ACTION_REVERT and revert["value"] == "p-1"


def test_cross_account_says_so_and_names_both_accounts() -> None:
    message = thread_message(view("answered", diagnosis(cross_account=True, principal_account="111122223333",
                                                        key_account="444455556666")))
    shown = texts(message).lower()
    assert "cross-account" in shown and "111122223333" in shown and "444455556666" in shown


@pytest.mark.parametrize(
    ("layer", "words"),
    [("permissions_boundary", "permissions boundary"), ("scp", "SCP"), ("identity", "IAM policy"),
     ("rcp", "RCP"), ("session", "session policy"), ("vpc_endpoint", "VPC endpoint policy")],
)
def test_failing_layer_is_named_in_words(layer: str, words: str) -> None:
    locks = (Lock(layer="key_policy", allows=True), Lock(layer=layer, allows=False))
    shown = texts(thread_message(view("answered", diagnosis(locks=locks, fixes=()))))
    assert f"*Blocked by:* {words}" in shown


def test_long_diff_is_truncated_with_a_way_to_see_all() -> None:
    long_diff = "\n".join(f'+   "arn:aws:iam::111122223333:role/Role{n}",' for n in range(300))
    fix = Fix(kind="key_policy_patch", summary="s", diff=long_diff, verified=True, key_arn=KEY,
              policy_after={}, policy_sha256_before="a" * 64)
    message = thread_message(view("answered", diagnosis(fixes=(fix,))))
    assert "Role0" in texts(message) and "Role299" not in texts(message)
    full = [b for b in buttons(message) if b["action_id"] == ACTION_FULL_DIFF]
    assert [b["value"] for b in full] == ["message:C1:1.2|0|0"]
    assert block_problems(message["blocks"], limit=50) == []


def test_huge_view_stays_within_slack_limits_and_counts_what_it_left_out() -> None:
    long = "x" * 5000
    big = diagnosis(cause=Cause(catalogue=1, code="c", summary=long), unseen_details=(long, long),
                    question=long, fixes=tuple(Fix(kind="other", summary=long, diff=long, commands=(long,))
                                               for _ in range(4)),
                    locks=tuple(Lock(layer="identity", allows=False, policy=long, explain=long)
                                for _ in range(9)))
    message = thread_message(view("answered", *([big] * 12)))
    assert len(message["blocks"]) <= 50
    assert block_problems(message["blocks"], limit=50) == []
    assert "did not fit" in texts(message)
    assert len(message["text"]) <= 3000


def test_user_controlled_text_cannot_ping_link_or_format() -> None:
    evil = Denial(action="kms:Decrypt<!channel>", principal_arn="arn:aws:iam::1:role/<!here>",
                  resource_arn="<https://evil.example|click>", key_id="k")
    message = thread_message(view("answered", diagnosis(
        denial=evil, cause=Cause(catalogue=0, code="c", summary="*urgent* <!everyone> @here <@U1|boss>"),
        question="`` ``` <https://x.io|y>",
        locks=(Lock(layer="key_policy", allows=False, statement="<!channel>"),))))
    # Slack parses mentions and links in mrkdwn and in the fallback text; plain_text is shown as typed.
    rendered = json.dumps([message["text"], *mrkdwn_texts(message["blocks"])])
    assert rendered.count("&lt;!channel&gt;") >= 2
    assert "<!" not in rendered and "<https" not in rendered and "<@U1" not in rendered
    assert not re.search(r"@(channel|here|everyone)\b", rendered)
    assert "*urgent*" not in rendered


def test_cloudtrail_facts_and_notes_are_shown_as_context() -> None:
    shown = texts(thread_message(view("answered", diagnosis(
        inferred=("the caller was arn:aws:iam::111122223333:role/App",),
        notes=("kms:Decrypt was assumed",)))))
    assert "From CloudTrail: the caller was arn:aws:iam::111122223333:role/App" in shown
    assert "kms:Decrypt was assumed" in shown


def test_a_long_cli_script_shows_its_read_only_checks_and_a_button_for_all() -> None:
    script = (f"aws kms get-key-policy --key-id {KEY} --policy-name default --output text > before.json",
              "cat > patched.json <<'EOF'", *[f'  "line {n}": "{"x" * 40}",' for n in range(60)], "EOF",
              f"aws kms put-key-policy --key-id {KEY} --policy-name default --policy file://patched.json")
    first = Fix(kind="key_policy_patch", summary="s", diff="+x", verified=True, key_arn=KEY, policy_after={},
                policy_sha256_before="a" * 64, commands=script)
    second = Fix(kind="other", summary="or this", commands=("aws kms describe-key --key-id k",))
    message = thread_message(view("answered", diagnosis(fixes=(first, second))))
    shown = texts(message)
    assert "get-key-policy" in shown and "put-key-policy" not in shown and "line 0" not in shown
    assert "aws kms describe-key --key-id k" in shown
    labels = {b["text"]["text"]: b["value"] for b in buttons(message)}
    assert labels["All CLI commands 1"] == "message:C1:1.2|0|0|commands"
    assert "Approve & apply fix 1" in labels and "All CLI commands 2" not in labels
