"""slack/manifest.yaml grants exactly what the Slack layer listens to and what the processes call.

The listeners come from `handlers.app.build_app` itself, run against a recording stand-in for Bolt's
App; the Web API methods from a scan of handlers/ and bot/ for SDK calls. A new listener or Slack call
without its event, command, shortcut or scope in the manifest fails here, not in a workspace.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings import Settings

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "slack" / "manifest.yaml"

# What each bot event needs (api.slack.com/events).
EVENT_SCOPES = {
    "app_mention": {"app_mentions:read"},
    "message.channels": {"channels:history"},
    "message.groups": {"groups:history"},
    "message.im": {"im:history"},
    "message.mpim": {"mpim:history"},
}
# What each Web API method needs with a bot token (api.slack.com/methods). The history methods read
# threads in public and private channels alike, so both history scopes.
METHOD_SCOPES: dict[str, set[str]] = {
    "chat.postMessage": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "chat.delete": {"chat:write"},
    "chat.getPermalink": set(),
    "views.open": set(),
    "views.update": set(),
    "views.push": set(),
    "usergroups.users.list": {"usergroups:read"},
    "conversations.replies": {"channels:history", "groups:history"},
    "conversations.history": {"channels:history", "groups:history"},
    "auth.test": set(),
    "apps.connections.open": set(),  # the app-level token's connections:write, not a bot scope
}
_SDK_CALL = re.compile(
    r"\.((?:chat|views|usergroups|conversations|reactions|users|apps|auth|team|pins|files|bots|bookmarks)"
    r"_[A-Za-z_]+)\("
)
_API_CALL = re.compile(r"api_call\(\s*[\"']([a-z]+(?:\.[A-Za-z]+)+)[\"']")


class RecordingApp:
    """Stands in for slack_bolt.App inside build_app: records every listener registration."""

    def __init__(self, **_: Any) -> None:
        self.registered: list[tuple[str, Any]] = []

    def __getattr__(self, kind: str) -> Callable[..., Any]:
        def register(*args: Any, **_: Any) -> Any:
            self.registered.append((kind, args[0] if args else None))

            def decorator(function: Any) -> Any:
                return function

            return decorator

        return register


class _Sink:
    def enqueue(self, job: Any) -> bool:
        return True

    def ping(self) -> bool:
        return True

    def get_proposal(self, proposal_id: str) -> None:
        return None

    def get_analysis(self, analysis_id: str) -> None:
        return None


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return loaded


@pytest.fixture(scope="module")
def listeners() -> dict[str, set[str]]:
    import handlers.app

    recorder: list[RecordingApp] = []

    def make(**options: Any) -> RecordingApp:
        recorder.append(RecordingApp(**options))
        return recorder[0]

    patch = pytest.MonkeyPatch()
    # build_app instantiates Bolt's App through its request-id subclass: record in its place.
    patch.setattr(handlers.app, "_RequestIdApp", make)
    try:
        settings = Settings(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="secret")
        handlers.app.build_app(settings, _Sink(), _Sink())
    finally:
        patch.undo()
    found: dict[str, set[str]] = {}
    for kind, what in recorder[0].registered:
        if kind in ("error", "use", "middleware"):
            continue
        key = what.get("type") if isinstance(what, dict) else what
        found.setdefault(kind, set()).add(str(key))
    return found


def _called_methods() -> set[str]:
    methods: set[str] = set()
    for source in [*REPO.joinpath("handlers").rglob("*.py"), *REPO.joinpath("bot").rglob("*.py")]:
        text = source.read_text()
        methods |= {m.replace("_", ".") for m in _SDK_CALL.findall(text)}
        methods |= set(_API_CALL.findall(text))
    return methods


def test_the_recorder_sees_the_listeners_the_handlers_register(listeners: dict[str, set[str]]) -> None:
    # If build_app stopped going through `App`, every other test here would pass vacuously.
    assert listeners.get("event") and listeners.get("command")
    assert set(listeners) <= {"event", "message", "command", "shortcut", "action", "view", "options"}, (
        f"a new kind of listener: {set(listeners)}; grant it in the manifest and teach this test"
    )


def test_every_event_listened_to_is_subscribed_and_nothing_more(
    listeners: dict[str, set[str]], manifest: dict[str, Any]
) -> None:
    subscribed = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    listened = set(listeners.get("event", set()))
    if "message" in listeners:  # app.message(...) listens to message events too
        listened.add("message")
    as_listened = {event.split(".")[0] for event in subscribed}
    assert as_listened == listened, "subscribed events and listeners differ"
    if "message" in listened:
        assert subscribed & {"message.channels", "message.groups"}, "pastes in channels need message.* events"


def test_every_slash_command_is_declared(listeners: dict[str, set[str]], manifest: dict[str, Any]) -> None:
    declared = {c["command"] for c in manifest["features"].get("slash_commands", [])}
    assert declared == listeners.get("command", set())
    assert "/kms-why" in declared


def test_the_message_shortcut_is_declared_with_the_handlers_callback_id(
    listeners: dict[str, set[str]], manifest: dict[str, Any]
) -> None:
    shortcuts = manifest["features"].get("shortcuts", [])
    assert {s["callback_id"] for s in shortcuts} == listeners.get("shortcut", set())
    (explain,) = [s for s in shortcuts if s["name"] == "Explain this KMS error"]
    assert explain["type"] == "message"


def test_interactivity_is_on_for_buttons_modals_and_shortcuts(
    listeners: dict[str, set[str]], manifest: dict[str, Any]
) -> None:
    interactive = listeners.get("action") or listeners.get("view") or listeners.get("shortcut")
    assert interactive, "the handlers register buttons and modals"
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_every_request_url_is_the_one_path_the_web_process_serves(manifest: dict[str, Any]) -> None:
    from handlers.web import EVENTS_PATH

    urls = [
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
        *(c["url"] for c in manifest["features"]["slash_commands"]),
    ]
    assert all(url.startswith("https://") and url.endswith(EVENTS_PATH) for url in urls), urls
    assert manifest["settings"]["socket_mode_enabled"] is False  # HTTP by default; docs/setup.md for socket


def test_every_slack_method_called_has_a_known_scope() -> None:
    called = _called_methods()
    assert {"chat.postMessage", "chat.update", "usergroups.users.list"} <= called  # the scan works
    unknown = called - METHOD_SCOPES.keys()
    assert not unknown, f"new Slack methods {unknown}: add their scopes to METHOD_SCOPES and the manifest"


def test_the_bot_scopes_are_exactly_those_the_code_needs(
    listeners: dict[str, set[str]], manifest: dict[str, Any]
) -> None:
    needed: set[str] = set()
    for event in manifest["settings"]["event_subscriptions"]["bot_events"]:
        needed |= EVENT_SCOPES[event]
    for method in _called_methods():
        needed |= METHOD_SCOPES.get(method, set())
    if listeners.get("command") or listeners.get("shortcut"):
        needed.add("commands")
    granted = set(manifest["oauth_config"]["scopes"]["bot"])
    assert needed - granted == set(), "used but not granted"
    assert granted - needed == set(), "granted but never used"
