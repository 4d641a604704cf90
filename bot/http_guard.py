"""What every request from outside passes before anything parses it: size, signature, shape.

Order matters: the body is read within a byte limit (``Content-Length`` first, then counted while
streaming, so a 100 MB upload is refused after the first megabyte, not read whole) and a time
limit (a stalled upload is refused, not waited on for ever); the signature
is checked on those raw bytes; only then is the body decoded and parsed, within a nesting depth
and with finite numbers only. A request that fails a step raises :class:`Rejected`, which the
route turns into one status code and one log line, never a traceback.

Standard library only: ``hmac`` for Slack's HMAC-SHA256 signature (slack_sdk's
``SignatureVerifier`` decodes the body as UTF-8 and calls ``int()`` on the timestamp before
comparing, so it raises on exactly the hostile input this module exists for) and ``json`` for
parsing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request

from bot.settings import BODY_TIMEOUT_S, MAX_BODY_BYTES

MAX_JSON_DEPTH = 32  # Slack's deepest payload (block_actions with a message of blocks) is about 12
SLACK_MAX_SKEW_S = 300


class Rejected(Exception):
    """A request refused before it reached the app: ``status`` and a short ``reason``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def read_body(request: Request, limit: int = MAX_BODY_BYTES, timeout_s: float = BODY_TIMEOUT_S) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit`` bytes, and
    with 408 when it has not arrived whole within ``timeout_s`` (a slow or stalled upload).

    A client that hangs up before its body is complete is refused too (400): starlette raises,
    and uncaught that is a traceback in the log per dropped connection."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Rejected(400, "malformed Content-Length")
        if int(declared) > limit:
            raise Rejected(413, f"body of {int(declared):,} bytes is over the {limit:,}-byte limit")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:  # a chunked upload, or a Content-Length that lied
                    raise Rejected(413, f"body over the {limit:,}-byte limit")
                chunks.append(chunk)
    except ClientDisconnect:
        raise Rejected(400, f"client disconnected after {size:,} bytes of its body") from None
    except TimeoutError:
        raise Rejected(408, f"body not received within {timeout_s:g} s ({size:,} bytes came)") from None
    return b"".join(chunks)


def slack_signature_ok(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> bool:
    """Slack's check, on raw bytes: ``v0=HMAC-SHA256(secret, b"v0:" + ts + b":" + body)``, ts within 5 minutes."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not secret or not signature or not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > SLACK_MAX_SKEW_S:
        return False
    expected = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"v0={expected}".encode(), signature.encode("utf-8", "replace"))


def decode_text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected(400, f"body is not UTF-8 (byte {exc.start})") from None


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:20]}")
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0), walked without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            level += 1
            deepest = max(deepest, level)
            stack.extend((child, level) for child in item if isinstance(child, (dict, list)))
    return deepest


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # the only way JSON in UTF-8 can hold one
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _mend(value: Any) -> Any:
    """``value`` with each unpaired surrogate in its text replaced by U+FFFD (a pair is one
    character once parsed); called within the depth limit, so the recursion is bounded."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_mend(item) for item in value]
    if isinstance(value, dict):
        return {_mend(key): _mend(item) for key, item in value.items()}
    return value


def loads(text: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` for untrusted text: finite numbers only, at most ``max_depth`` levels deep,
    and text that can be encoded again: ``"\\ud800"`` is valid JSON but an unpaired surrogate,
    which the search, the log and every reply would fail to encode, so it becomes U+FFFD."""
    try:
        value = json.loads(text, parse_float=_finite, parse_constant=_no_constants)
    except RecursionError:  # the C parser gives up near 1,000 levels
        raise Rejected(400, "JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, out-of-range numbers, over-long integers
        raise Rejected(400, f"malformed JSON ({str(exc)[:80]})") from None
    if depth(value) > max_depth:
        raise Rejected(400, f"JSON nested deeper than {max_depth} levels")
    return _mend(value) if _SURROGATE_ESCAPE.search(text) else value


def loads_object(text: str, *, max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    value = loads(text, max_depth=max_depth)
    if not isinstance(value, dict):
        raise Rejected(400, f"expected a JSON object, got {type(value).__name__}")
    return value


# The shapes bolt and the listeners walk into without checking types: each object, and each of
# its fields named here, must have the type Slack sends, or the request is refused.
_SLACK_OBJECTS: dict[str, tuple[str, ...]] = {
    "user": ("id", "team_id"),
    "team": ("id",),
    "channel": ("id",),
    "enterprise": ("id",),
    "container": ("message_ts", "thread_ts", "channel_id"),
    "message": ("ts", "thread_ts"),
    "event": ("type", "subtype", "text", "channel", "channel_type", "user", "bot_id", "ts", "thread_ts"),
}
_SLACK_TYPES = {"event_callback", "url_verification", "app_rate_limited", "block_actions"}


def _web_address(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) <= 2000


def check_slack_body(text: str, content_type: str) -> dict[str, Any]:
    """The parsed body of a signed Slack request, or :class:`Rejected` (400) when it is not one
    storydesk handles: a slash command, an interaction (``payload=``), an event, or Slack's checks."""
    if content_type.startswith("application/json"):
        body = loads_object(text)
    elif content_type.startswith("application/x-www-form-urlencoded"):
        form = dict(parse_qsl(text, keep_blank_values=True))
        if form.get("ssl_check") == "1":  # Slack's check, as bolt recognises it; any other value is no check
            return form
        if "command" in form:
            if not _web_address(form.get("response_url")):
                raise Rejected(400, "slash command without a response_url")
            return form
        if "payload" not in form:
            raise Rejected(400, "form without command or payload")
        body = loads_object(form["payload"])
    else:
        raise Rejected(400, f"unsupported content type {content_type[:60]!r}")
    kind = body.get("type")
    if not isinstance(kind, str) or kind not in _SLACK_TYPES:
        raise Rejected(400, f"unsupported request type {str(kind)[:40]!r}")
    for key, fields in _SLACK_OBJECTS.items():
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise Rejected(400, f"{key!r} is not an object")
        if not all(isinstance(value.get(f, ""), str) for f in fields):
            raise Rejected(400, f"a field of {key!r} is not text")
    container = body.get("container")
    if isinstance(container, dict) and not isinstance(container.get("is_ephemeral", False), bool):
        raise Rejected(400, "'is_ephemeral' is not true or false")
    authorizations = body.get("authorizations", [])
    if not isinstance(authorizations, list) or not all(isinstance(a, dict) for a in authorizations):
        raise Rejected(400, "'authorizations' is not a list of objects")
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not all(
                isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            raise Rejected(400, "'actions' is not a list of actions")
        if not _web_address(body.get("response_url")):
            raise Rejected(400, "interaction without a response_url")
    return body
