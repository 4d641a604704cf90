"""A stand-in for Slack on 127.0.0.1: the Web API, ``response_url``s, and a real server for our app.

The stub records ``chat.postMessage``, ``chat.postEphemeral``, ``chat.update`` and posts to
``response_url`` (``/response/<name>``), and checks each message against Slack's limits the way
Slack does, answering ``invalid_blocks`` to a message that breaks them. Tests wait for what they
expect with :meth:`SlackAPIStub.wait_for`, a bounded wait on a condition variable, never a sleep.

    with SlackAPIStub() as slack:
        settings = replace(settings, slack_api_url=slack.api_url, slack_bot_token="xoxb-test")
        ...
        [post] = slack.wait_for(lambda r: r.method == "chat.postMessage")

Also here: :func:`signed_headers` (Slack's request signing) and :func:`running` (an ASGI app in a
real uvicorn server on a free loopback port, in a thread).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import uvicorn

BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM_ID = "T0TEST001"

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
BUTTON_VALUE_LIMIT = 2000
TEXT_LIMIT = 40_000


@dataclass
class Recorded:
    """One message the stub received: ``method`` is the API method or ``response_url``."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    at: float = field(default_factory=time.time)  # when it arrived (the benchmark's answer latency)

    @property
    def text(self) -> str:
        """Everything a reader would see: fallback text plus every text in the blocks."""
        return self.body.get("text", "") + "\n" + "\n".join(block_texts(self.body.get("blocks") or []))

    @property
    def buttons(self) -> dict[str, dict[str, Any]]:
        """Buttons by ``action_id``."""
        found: dict[str, dict[str, Any]] = {}
        for block in self.body.get("blocks") or []:
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                found[element.get("action_id", "")] = element
        return found


def block_texts(blocks: list[dict[str, Any]]) -> list[str]:
    """The text of every section, context element and button in ``blocks``."""
    texts: list[str] = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            texts.append(block["text"].get("text", ""))
        for element in block.get("elements", []):
            if isinstance(element.get("text"), dict):
                texts.append(element["text"].get("text", ""))
            elif isinstance(element.get("text"), str):
                texts.append(element["text"])
        for item in block.get("fields", []) or []:
            texts.append(item.get("text", ""))
    return texts


def check_message(body: dict[str, Any]) -> list[str]:
    """What Slack would reject (or truncate) in a message body; empty when it is fine."""
    problems: list[str] = []
    blocks = body.get("blocks")
    if body.get("delete_original"):
        return problems
    if not body.get("text"):
        problems.append("no fallback text")
    elif len(body["text"]) > TEXT_LIMIT:
        problems.append("text over 40,000 characters")
    if blocks is None:
        return problems
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks (limit {MAX_BLOCKS})")
    for i, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "section":
            text = block.get("text", {}).get("text", "")
            if not text or len(text) > SECTION_LIMIT:
                problems.append(f"block {i}: section text of {len(text)} characters")
        elif kind == "context":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 10:
                problems.append(f"block {i}: context with {len(elements)} elements")
            for element in elements:
                if len(element.get("text", "")) > 3000:
                    problems.append(f"block {i}: context element over 3,000 characters")
        elif kind == "actions":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 25:
                problems.append(f"block {i}: actions with {len(elements)} elements")
            for element in elements:
                if len(element.get("value", "")) > BUTTON_VALUE_LIMIT:
                    problems.append(f"block {i}: button value of {len(element['value'])} characters")
                if len(element.get("text", {}).get("text", "")) > 75:
                    problems.append(f"block {i}: button text over 75 characters")
                if len(element.get("action_id", "")) > 255:
                    problems.append(f"block {i}: action_id over 255 characters")
        elif kind not in {"divider", "header", "image", "rich_text"}:
            problems.append(f"block {i}: unexpected type {kind!r}")
    return problems


class SlackAPIStub:
    """Records requests; answers like Slack for the methods storydesk uses."""

    MESSAGE_METHODS = {"chat.postMessage", "chat.postEphemeral", "chat.update"}

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._changed = threading.Condition()
        #: API methods to answer with HTTP 429 (``Retry-After: 0``) once each, then normally.
        self.rate_limit: list[str] = []
        #: Requests answered with 429, for asserting the client retried.
        self.rate_limited: list[str] = []
        self._counter = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
                headers = {k.lower(): v for k, v in self.headers.items()}
                if headers.get("content-type", "").startswith("application/json"):
                    body = json.loads(raw) if raw else {}
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                status, extra, reply = stub._answer(self.path, headers, body)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="slack-stub", daemon=True)

    # ------------------------------------------------------------------ addresses

    @property
    def api_url(self) -> str:
        """What ``SLACK_API_URL`` should be."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "r1") -> str:
        """A ``response_url`` on the stub; posts to it are recorded with method ``response_url``."""
        return f"http://127.0.0.1:{self.port}/response/{name}"

    # ------------------------------------------------------------------ answering

    def _answer(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        if path.startswith("/response/"):
            with self._changed:
                if "response_url" in self.rate_limit:
                    self.rate_limit.remove("response_url")
                    self.rate_limited.append("response_url")
                    return 429, {"Retry-After": "0"}, {"ok": False, "error": "ratelimited"}
            record = Recorded("response_url", path, headers, body, check_message(body))
            self._record(record)
            if record.problems:
                return 400, {}, {"ok": False, "error": "invalid_blocks", "problems": record.problems}
            return 200, {}, {"ok": True}
        method = path.removeprefix("/api/")
        with self._changed:
            if method in self.rate_limit:
                self.rate_limit.remove(method)
                self.rate_limited.append(method)
                return 429, {"Retry-After": "0"}, {"ok": False, "error": "ratelimited"}
        if not headers.get("authorization", "").startswith("Bearer xoxb-"):
            return 200, {}, {"ok": False, "error": "not_authed"}
        if method == "auth.test":
            return 200, {}, {
                "ok": True, "url": "https://test.slack.com/", "team": "Test", "user": "storydesk",
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False,
            }
        if method in self.MESSAGE_METHODS:
            record = Recorded(method, path, headers, body, check_message(body))
            self._record(record)
            if record.problems:
                return 200, {}, {"ok": False, "error": "invalid_blocks", "problems": record.problems}
            with self._changed:
                self._counter += 1
                ts = f"1700000000.{self._counter:06d}"
            return 200, {}, {"ok": True, "channel": body.get("channel"), "ts": ts, "message": body}
        return 200, {}, {"ok": False, "error": "unknown_method"}

    def _record(self, record: Recorded) -> None:
        with self._changed:
            self.requests.append(record)
            self._changed.notify_all()

    # ------------------------------------------------------------------ for tests

    def messages(self, where: Callable[[Recorded], bool] = lambda r: True) -> list[Recorded]:
        """Every recorded message matching ``where``, in arrival order."""
        with self._changed:
            return [r for r in self.requests if where(r)]

    def wait_for(
        self, where: Callable[[Recorded], bool] = lambda r: True, *, count: int = 1, timeout: float = 60.0
    ) -> list[Recorded]:
        """Wait until ``count`` recorded messages match ``where``; fail with what did arrive."""
        with self._changed:
            ok = self._changed.wait_for(lambda: len([r for r in self.requests if where(r)]) >= count, timeout)
            found = [r for r in self.requests if where(r)]
        if not ok:
            seen = [(r.method, r.text[:120]) for r in self.messages()]
            raise AssertionError(f"expected {count} matching message(s) within {timeout}s; got {seen}")
        return found

    def clear(self) -> None:
        with self._changed:
            self.requests.clear()
            self.rate_limited.clear()

    def __enter__(self) -> SlackAPIStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# --------------------------------------------------------------------------- signing


def signed_headers(secret: str, body: str, *, content_type: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers exactly as Slack signs a request: ``v0=HMAC-SHA256(secret, "v0:{ts}:{body}")``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }


# --------------------------------------------------------------------------- a real server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(app: Any, *, timeout: float = 30.0, config: uvicorn.Config | None = None) -> Iterator[str]:
    """Serve the ASGI ``app`` with uvicorn on 127.0.0.1 in a thread (with ``config``, the server's
    own configuration, on its port); yields its base URL."""
    if config is None:
        config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="off")
    port = config.port
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="storydesk-test-server", daemon=True)
    thread.start()
    started = threading.Event()
    deadline = time.monotonic() + timeout
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        started.wait(0.02)  # bounded polling for start-up; no assertion depends on timing
    if not server.started:
        raise RuntimeError("uvicorn did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
