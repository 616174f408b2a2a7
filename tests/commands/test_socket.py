"""`kms-why socket` as a real process: probes on --port, a clean stop on SIGTERM (PID 1 in a container has no
default SIGTERM action, so the process must handle it itself).

Slack is faked at both ends: an HTTP Web API (SLACK_API_URL) whose `apps.connections.open` names a local
WebSocket endpoint, and that endpoint, which completes the WebSocket handshake and then stays quiet.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REDIS_DB = 13  # this test's own database; it writes nothing
WS_MAGIC = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _WebSocket:
    """Accepts WebSocket handshakes and keeps the connections open without sending anything."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                request += chunk
            key = next((line.split(":", 1)[1].strip() for line in request.decode().split("\r\n")
                        if line.lower().startswith("sec-websocket-key:")), "")
            accept = base64.b64encode(hashlib.sha1((key + WS_MAGIC).encode()).digest()).decode()
            conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
            self.connections.append(conn)

    def close(self) -> None:
        self.server.close()
        for conn in self.connections:
            conn.close()


def _slack_api(ws_port: int) -> ThreadingHTTPServer:
    class Api(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            method = self.path.rsplit("/", 1)[-1]
            body: dict[str, object] = {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1",
                                       "user": "kms-why", "team": "t", "url": "https://t.slack.com/"}
            if method == "apps.connections.open":
                body["url"] = f"ws://127.0.0.1:{ws_port}/link"
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def socket_process() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    ws = _WebSocket()
    api = _slack_api(ws.port)
    port = _free_port()
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1",
           "SLACK_API_URL": f"http://127.0.0.1:{api.server_address[1]}/api/",
           "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}", "KMS_WHY_LOG_FORMAT": "text"}
    env.pop("PORT", None)
    kms_why = Path(sys.executable).with_name("kms-why")
    process = subprocess.Popen([str(kms_why), "socket", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)
        api.shutdown()
        ws.close()


def _get(port: int, path: str, method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=b"{}" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _wait_ready(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1].decode()[-2000:]
        try:
            if _get(port, "/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("the socket process never became ready")


def test_probes_answer_and_sigterm_stops_it_cleanly(
    socket_process: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = socket_process
    _wait_ready(process, port)
    assert _get(port, "/healthz") == (200, "ok\n")
    status, metrics = _get(port, "/metrics")
    assert status == 200 and "# TYPE" in metrics
    assert _get(port, "/slack/events", method="POST")[0] == 404  # no unsigned HTTP path into the app
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0  # handled: Python's default would end it by the signal (-15)
    assert b"stopping" in process.communicate(timeout=5)[1]
