"""Building the app and the processes: missing credentials are one clear error, never a traceback."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bot.errors import UserError
from bot.settings import Settings
from handlers.app import build_app
from handlers.socket import run as run_socket_mode


class _NoQueue:
    def enqueue(self, job: object) -> bool:
        raise AssertionError("nothing may be queued here")

    def ping(self) -> bool:
        return False


class _NoStore:
    def get_proposal(self, proposal_id: str) -> None:
        return None

    def get_analysis(self, analysis_id: str) -> None:
        return None


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
    ],
)
def test_http_mode_needs_the_bot_token_and_signing_secret(
    env: dict[str, str], missing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(UserError, match=missing):
        build_app(Settings.model_validate(env), _NoQueue(), _NoStore())


def test_socket_mode_needs_no_signing_secret_but_an_app_token(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.model_validate({"SLACK_BOT_TOKEN": "xoxb-1"})
    assert build_app(settings, _NoQueue(), _NoStore(), socket_mode=True) is not None
    with pytest.raises(UserError, match="SLACK_APP_TOKEN"):
        run_socket_mode(settings)


def test_socket_mode_uses_the_app_token_and_slack_api_url(monkeypatch: pytest.MonkeyPatch) -> None:
    import slack_bolt.adapter.socket_mode as socket_mode

    started: dict[str, Any] = {}

    class Recorder:
        def __init__(self, app: object, app_token: str, web_client: object) -> None:
            started.update(app=app, app_token=app_token, web_client=web_client)
            self.client = self

        def is_connected(self) -> bool:
            return bool(started.get("started"))

        def connect(self) -> None:
            started["started"] = True

        def close(self) -> None:
            started["closed"] = True

    monkeypatch.setattr(socket_mode, "SocketModeHandler", Recorder)
    settings = Settings.model_validate({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1-A1-1-abc",
                                        "SLACK_API_URL": "http://127.0.0.1:9/api/",
                                        "REDIS_URL": "redis://127.0.0.1:6379/15"})
    stop = threading.Event()
    stop.set()  # stop at once: the handler connects, then closes
    run_socket_mode(settings, host="127.0.0.1", port=0, stop=stop)
    assert started["started"] is True and started["closed"] is True
    assert started["app_token"] == "xapp-1-A1-1-abc"
    assert started["web_client"].base_url == "http://127.0.0.1:9/api/"
    assert started["app"].client.base_url == "http://127.0.0.1:9/api/"
