"""A stand-in for Discord's HTTP API on 127.0.0.1, and a helper to run an ASGI app for real.

The stub records every request (edits and deletions of the original response, follow-ups, command
registration) and checks message bodies against Discord's limits the way Discord would, answering
400 to a message that breaks them. It follows Discord's rules for an interaction's messages: the
deferral shows "thinking" until it is edited; a deleted original is an Unknown Message (404) to
edit or delete again; and the first follow-up while the deferral still thinks edits the deferral
instead, its ephemeral flag ignored (``Recorded.edits_deferral``). :meth:`DiscordAPIStub.channel_sees`
replays that for a public deferral: what everyone in the channel ends up seeing.

Tests wait for what they expect with :meth:`DiscordAPIStub.wait_for`, a bounded wait on a
condition variable rather than a fixed sleep.

    with DiscordAPIStub() as api:
        settings = replace(settings, discord_api_url=api.base_url)
        ...
        [edit] = api.wait_for(lambda r: r.method == "PATCH")
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import uvicorn

from bot.render_discord import validate

API_PREFIX = "/api/v10"
_WEBHOOK = re.compile(rf"^{API_PREFIX}/webhooks/(?P<app>[^/]+)/(?P<token>[^/]+)(?P<rest>/messages/@original)?$")
# What a deferral shows until it is edited, and what is left of a deleted original.
THINKING = {"thinking": "storydesk is thinking…"}
DELETED = {"deleted": True}
UNKNOWN_MESSAGE = {"message": "Unknown Message", "code": 10008}
EPHEMERAL = 1 << 6
_COMMANDS = re.compile(rf"^{API_PREFIX}/applications/(?P<app>[^/]+)(?:/guilds/(?P<guild>[^/]+))?/commands$")


@dataclass
class Recorded:
    """One request the stub received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    problems: list[str] = field(default_factory=list)
    status: int = 0
    #: A follow-up Discord turned into an edit of the still-thinking deferral (flags ignored).
    edits_deferral: bool = False

    @property
    def token(self) -> str:
        """The interaction token of a webhook call ("" for other requests)."""
        m = _WEBHOOK.match(self.path)
        return m.group("token") if m else ""

    @property
    def is_edit(self) -> bool:
        return self.method == "PATCH" and self.path.endswith("/messages/@original")

    @property
    def is_delete(self) -> bool:
        return self.method == "DELETE" and self.path.endswith("/messages/@original")

    @property
    def is_followup(self) -> bool:
        m = _WEBHOOK.match(self.path)
        return self.method == "POST" and m is not None and not m.group("rest")

    @property
    def ephemeral(self) -> bool:
        """A follow-up only the asker sees: flagged so, and not turned into an edit of the deferral."""
        flags = self.body.get("flags", 0) if isinstance(self.body, dict) else 0
        return isinstance(flags, int) and bool(flags & EPHEMERAL) and not self.edits_deferral


class DiscordAPIStub:
    """Records requests; answers like Discord for the endpoints storydesk uses."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._changed = threading.Condition()
        #: Status codes to answer the next webhook edits, deletions of the original and follow-ups
        #: with, in order (then successes again).
        self.fail_edits: list[int] = []
        self.fail_deletes: list[int] = []
        self.fail_followups: list[int] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                status, reply = stub._answer(self.command, self.path, dict(self.headers), body)
                data = b"" if status == 204 else json.dumps(reply).encode()
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """What ``DISCORD_API_URL`` should be set to."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{API_PREFIX}"

    def __enter__(self) -> DiscordAPIStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        record = Recorded(method, path, {k.lower(): v for k, v in headers.items()}, body)
        status, reply = 404, {"message": "404: Not Found", "code": 0}
        webhook = _WEBHOOK.match(path)
        if webhook and method in ("PATCH", "POST") and (method == "POST") != bool(webhook.group("rest")):
            status, reply = self._message(record)
        elif webhook and method == "DELETE" and webhook.group("rest"):
            status, reply = self._delete(record)
        elif (m := _COMMANDS.match(path)) and method == "PUT":
            if not record.headers.get("authorization", "").startswith("Bot "):
                status, reply = 401, {"message": "401: Unauthorized", "code": 0}
            else:
                app = m.group("app")
                status = 200
                reply = [{"id": str(100 + i), "application_id": app, "version": "1", **c} for i, c in enumerate(body)]
        record.status = status
        with self._changed:
            self.requests.append(record)
            self._changed.notify_all()
        return status, reply

    def _message(self, record: Recorded) -> tuple[int, Any]:
        """An edit of the original (PATCH) or a follow-up (POST), checked like Discord would."""
        record.problems = validate(record.body) if isinstance(record.body, dict) else ["body is not a JSON object"]
        failures = self.fail_edits if record.is_edit else self.fail_followups
        original = self._original(record.token)
        if record.problems:
            return 400, {"message": "Invalid Form Body", "errors": record.problems}
        if failures:
            return failures.pop(0), {"message": "failed on purpose", "retry_after": 0.01}
        if record.is_edit and original is DELETED:
            return 404, UNKNOWN_MESSAGE
        record.edits_deferral = record.is_followup and original is THINKING
        return 200, {"id": "1", "channel_id": "0", **record.body}

    def _delete(self, record: Recorded) -> tuple[int, Any]:
        if self.fail_deletes:
            return self.fail_deletes.pop(0), {"message": "failed on purpose", "retry_after": 0.01}
        if self._original(record.token) is DELETED:
            return 404, UNKNOWN_MESSAGE
        return 204, None

    def _accepted(self, token: str) -> list[Recorded]:
        """The webhook calls for ``token`` that Discord accepted, in order."""
        with self._changed:
            return [r for r in self.requests if r.token == token and 200 <= r.status < 300]

    def _original(self, token: str) -> Any:
        """The original response for ``token`` now: THINKING, the message it shows, or DELETED."""
        original: Any = THINKING
        for r in self._accepted(token):
            if r.is_edit or r.edits_deferral:
                original = r.body
            elif r.is_delete:
                original = DELETED
        return original

    def channel_sees(self, token: str) -> list[Any]:
        """What everyone in the channel sees of a *public* deferral for ``token``: the original
        (THINKING until edited; nothing once deleted), then each follow-up that is not ephemeral."""
        original = self._original(token)
        followups = [r.body for r in self._accepted(token) if r.is_followup and not r.edits_deferral
                     and not r.ephemeral]
        return ([] if original is DELETED else [original]) + followups

    def followups(self, token: str) -> list[Recorded]:
        """Follow-ups recorded so far for the interaction with ``token``."""
        with self._changed:
            return [r for r in self.requests if r.is_followup and r.token == token]

    def wait_for(self, predicate: Callable[[Recorded], bool], *, count: int = 1,
                 timeout: float = 60.0) -> list[Recorded]:
        """The first ``count`` recorded requests matching ``predicate``, waiting up to ``timeout``.

        Raises ``AssertionError`` naming what did arrive when they don't come in time.
        """
        with self._changed:
            ok = self._changed.wait_for(lambda: len([r for r in self.requests if predicate(r)]) >= count, timeout)
            matched = [r for r in self.requests if predicate(r)]
        if not ok:
            seen = [(r.method, r.path) for r in self.requests]
            raise AssertionError(f"expected {count} matching request(s), got {len(matched)}; seen {seen}")
        return matched[:count]

    def edits(self, token: str) -> list[Recorded]:
        """Webhook edits recorded so far for the interaction with ``token``."""
        with self._changed:
            return [r for r in self.requests if r.is_edit and f"/{token}/" in r.path]


@contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """Run ``app`` in a real uvicorn server on 127.0.0.1 (an ephemeral port); yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="auto")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    started = threading.Event()
    # Bounded wait for start-up: uvicorn flips ``started`` once it is accepting connections.
    for _ in range(600):
        if server.started or not thread.is_alive():
            break
        started.wait(0.05)
    if not server.started:
        raise RuntimeError("uvicorn did not start")
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
