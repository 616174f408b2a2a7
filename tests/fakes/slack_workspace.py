"""The workspace state behind the fake Slack Web API, and the methods that read and change it.

Each method takes the request's parameters and returns the JSON body Slack documents for it. Callers
hold the fake's lock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tests.fakes.slack_limits import block_problems, view_problems


class Workspace:
    def __init__(self, *, bot_user_id: str, bot_id: str, team_id: str) -> None:
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_id = team_id
        self.messages: dict[str, list[dict[str, Any]]] = {}  # channel -> messages
        self.ephemerals: list[dict[str, Any]] = []
        self.views: list[dict[str, Any]] = []
        self.usergroups: dict[str, list[str]] = {}
        self._counter = 0

    def channel(self, channel: str) -> list[dict[str, Any]]:
        return self.messages.setdefault(channel, [])

    def next_ts(self) -> str:
        self._counter += 1
        return f"1800000000.{self._counter:06d}"

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        run = METHODS.get(method)
        return run(self, params) if run else {"ok": False, "error": "unknown_method"}

    def auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://fake.slack.com/", "team": "Fake", "user": "kms-why",
                "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
                "is_enterprise_install": False}

    def post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        problem = _content_problem(params)
        if problem:
            return problem
        message: dict[str, Any] = {
            "type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, "app_id": "AKMSWHY",
            "team": self.team_id, "text": params.get("text", ""), "ts": self.next_ts(),
        }
        for key in ("blocks", "attachments", "metadata"):
            if params.get(key):
                message[key] = params[key]
        if params.get("thread_ts"):
            message["thread_ts"] = str(params["thread_ts"])
        self.channel(channel).append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": _public(message, True)}

    def update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel"), params.get("ts")
        target = next((m for m in self.channel(str(channel)) if m["ts"] == ts), None)
        if target is None:
            return {"ok": False, "error": "message_not_found"}
        if target.get("bot_id") != self.bot_id:
            return {"ok": False, "error": "cant_update_message"}
        problem = _content_problem(params)
        if problem:
            return problem
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in params:
                target[key] = params[key]
        target["edited"] = {"user": self.bot_user_id, "ts": self.next_ts()}
        return {"ok": True, "channel": channel, "ts": ts, "text": target.get("text", ""),
                "message": _public(target, True)}

    def post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not params.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        problem = _content_problem(params)
        if problem:
            return problem
        ts = self.next_ts()
        self.ephemerals.append({**params, "message_ts": ts})
        return {"ok": True, "message_ts": ts}

    def permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(params.get("channel", "")), str(params.get("message_ts", ""))
        if not channel or not ts:
            return {"ok": False, "error": "invalid_arguments"}
        link = f"https://fake.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": link}

    def replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(params.get("channel", "")), str(params.get("ts", ""))
        thread = [m for m in self.channel(channel) if m["ts"] == ts or m.get("thread_ts") == ts]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        return self.page(sorted(thread, key=_ts_key), params)

    def history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        top = [m for m in self.channel(channel) if m.get("thread_ts") in (None, m["ts"])]
        return self.page(sorted(top, key=_ts_key, reverse=True), params)

    def page(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        start = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or 100)
        page = messages[start : start + limit]
        more = start + limit < len(messages)
        with_metadata = _truthy(params.get("include_all_metadata"))
        return {"ok": True, "messages": [_public(m, with_metadata) for m in page], "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        if not params.get("trigger_id") or not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        problems = view_problems(view)
        if problems:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": problems}}
        opened = {**view, "id": f"V{len(self.views) + 1:08d}", "team_id": self.team_id,
                  "state": {"values": {}}, "hash": f"{time.time():.6f}", "root_view_id": None,
                  "trigger_id": params["trigger_id"]}
        opened.setdefault("private_metadata", "")
        opened.setdefault("callback_id", "")
        self.views.append(opened)
        return {"ok": True, "view": opened}

    def usergroup_users(self, params: dict[str, Any]) -> dict[str, Any]:
        users = self.usergroups.get(str(params.get("usergroup", "")))
        if users is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(users)}



METHODS: dict[str, Callable[[Workspace, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": Workspace.auth_test,
    "chat.postMessage": Workspace.post_message,
    "chat.update": Workspace.update,
    "chat.postEphemeral": Workspace.post_ephemeral,
    "chat.getPermalink": Workspace.permalink,
    "conversations.replies": Workspace.replies,
    "conversations.history": Workspace.history,
    "views.open": Workspace.views_open,
    "usergroups.users.list": Workspace.usergroup_users,
}


def _ts_key(message: dict[str, Any]) -> float:
    return float(message["ts"])


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _public(message: dict[str, Any], with_metadata: bool) -> dict[str, Any]:
    shown = json.loads(json.dumps(message))
    if not with_metadata:
        shown.pop("metadata", None)
    return dict(shown)


def _content_problem(params: dict[str, Any]) -> dict[str, Any] | None:
    text, blocks = params.get("text"), params.get("blocks")
    if not text and not blocks and not params.get("attachments"):
        return {"ok": False, "error": "no_text"}
    if text and len(str(text)) > 40000:
        return {"ok": False, "error": "msg_too_long"}
    if blocks is not None:
        problems = block_problems(blocks, limit=50)
        if problems:
            return {"ok": False, "error": "invalid_blocks", "response_metadata": {"messages": problems}}
    return None
