"""Discord's side of the protocol: verify a request, read an interaction, edit or delete a
deferred response or follow it up, register ``/story``. No storydesk logic: :mod:`bot.discord_app`
is the endpoint that uses these.

- Requests are signed with Ed25519 over ``timestamp + raw body`` (PyNaCl, the library Discord's
  own documentation uses); :func:`verify_request` checks the signature and a 5-minute window.
- :class:`Interaction` is the part of Discord's JSON the commands need, read defensively: wrong
  types raise :class:`~bot.http_guard.Rejected` (400), never a server error.
- :func:`edit_original`, :func:`delete_original`, :func:`send_followup` (the interaction's webhook)
  and :func:`register_commands` call Discord's HTTP API with httpx (already the project's HTTP
  client), retrying a 429 after Discord's ``retry_after``.
- :data:`STORY_COMMAND`, the registered ``/story``, is built from :data:`bot.commands.COMMANDS`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from bot import commands
from bot.http_guard import Rejected
from bot.settings import Settings

# Interaction types Discord sends, and the response types we answer with.
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE = 1, 2, 3, 4
PONG, CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, UPDATE_MESSAGE, AUTOCOMPLETE_RESULT = 1, 4, 5, 7, 8
EPHEMERAL = 1 << 6
# Option types used by the /story command.
SUB_COMMAND, STRING, BOOLEAN = 1, 3, 5
# Permission bits that may rebind a channel: ADMINISTRATOR, MANAGE_CHANNELS, MANAGE_GUILD.
BIND_PERMISSIONS = (1 << 3) | (1 << 4) | (1 << 5)

MAX_SKEW_S = 300
COMMAND_NAME = "story"


class DiscordError(RuntimeError):
    """Discord did not accept a webhook call (its status and reason), or could not be reached."""


def _option(kind: int, name: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "name": name, "description": description, **extra}


_STORY_OPTION = _option(STRING, "story", "Story id (default: this channel's story)", autocomplete=True, max_length=100)
_PUBLIC_OPTION = _option(BOOLEAN, "public", "Post in the channel for everyone (default: only you see it)")


def _subcommand(spec: commands.CommandSpec) -> dict[str, Any]:
    """A :data:`bot.commands.COMMANDS` row as a Discord subcommand (required options first)."""
    options: list[dict[str, Any]] = []
    if spec.arg == "story":
        options.append(dict(_STORY_OPTION, description=spec.arg_help, required=spec.arg_required))
    elif spec.arg:
        options.append(_option(STRING, spec.arg, spec.arg_help, max_length=1000,
                               **({"required": True} if spec.arg_required else {})))
    if spec.scoped:
        options += [_PUBLIC_OPTION, _STORY_OPTION]
    sub = _option(SUB_COMMAND, spec.name, spec.summary[:1].upper() + spec.summary[1:100])
    return dict(sub, options=options) if options else sub


#: The /story command as registered with Discord: one subcommand per row of the command table.
STORY_COMMAND: dict[str, Any] = {
    "name": COMMAND_NAME,
    "type": 1,
    "description": "Ask about a news story and get cited, verbatim answers",
    "options": [_subcommand(spec) for spec in commands.COMMANDS if spec.listed],
}


# --- request -> interaction ---------------------------------------------------------------------


def verify_request(key: VerifyKey, headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> bool:
    """True when ``body`` carries Discord's Ed25519 signature and a timestamp within 5 minutes.

    Discord signs ``timestamp + raw body``; the body must be the exact bytes received.
    """
    signature, timestamp = headers.get("x-signature-ed25519"), headers.get("x-signature-timestamp")
    if not signature or not timestamp or not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    try:
        key.verify(timestamp.encode() + body, bytes.fromhex(signature))
        sent = float(timestamp)
    except (BadSignatureError, ValueError):
        return False
    return abs((time.time() if now is None else now) - sent) <= MAX_SKEW_S


@dataclass(frozen=True)
class Interaction:
    """The parts of a Discord interaction the commands need."""

    type: int
    id: str = ""
    token: str = ""
    application_id: str = ""
    channel_id: str = ""
    user_id: str = ""
    permissions: int | None = None  # None outside a guild (DMs)
    subcommand: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    focused: str | None = None  # the option being typed, for autocomplete
    custom_id: str = ""  # the button clicked, for a message component

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Interaction:
        """Translate Discord's JSON (``/story <sub> opt:value``) into an :class:`Interaction`.

        Raises :class:`~bot.http_guard.Rejected` (400) when the parts it reads have the wrong types.
        """
        kind = payload.get("type", 0)
        if not isinstance(kind, int) or isinstance(kind, bool):
            raise Rejected(400, "interaction type is not an integer")
        data = _mapping(payload.get("data"), "data")
        sub = next((o for o in _objects(data.get("options"), "data.options") if o.get("type") == SUB_COMMAND), {})
        sub_options = _objects(sub.get("options"), "options")
        options = {str(o["name"]): o.get("value") for o in sub_options if "name" in o}
        focused = next((str(o["name"]) for o in sub_options if o.get("focused") and "name" in o), None)
        member = _mapping(payload.get("member"), "member")
        user = _mapping(member.get("user") or payload.get("user"), "user")
        perms = member.get("permissions")
        if perms is not None and not (isinstance(perms, str) and perms.isdigit() and len(perms) <= 20):
            raise Rejected(400, "permissions is not a number string")
        channel = _mapping(payload.get("channel"), "channel")
        custom_id = data.get("custom_id", "")
        if not isinstance(custom_id, str) or len(custom_id) > 100:
            raise Rejected(400, "custom_id is not a string of at most 100 characters")
        return cls(
            type=kind,
            id=str(payload.get("id", "")),
            token=str(payload.get("token", "")),
            application_id=str(payload.get("application_id", "")),
            channel_id=str(payload.get("channel_id") or channel.get("id", "")),
            user_id=str(user.get("id", "")),
            permissions=int(perms) if perms is not None else None,
            subcommand=str(sub.get("name", "")),
            options=options,
            focused=focused,
            custom_id=custom_id,
        )

    @property
    def ephemeral(self) -> bool:
        """Answers are private unless asked for publicly; a channel binding is announced."""
        spec = commands.spec_for(self.subcommand)
        return not (spec is not None and spec.visible) and self.options.get("public") is not True


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise Rejected(400, f"{name} is not an object")
    return value


def _objects(value: Any, name: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise Rejected(400, f"{name} is not a list of objects")
    return value


# --- Discord's HTTP API -------------------------------------------------------------------------


def edit_original(settings: Settings, it: Interaction, message: dict[str, Any], *, timeout: float = 10.0) -> None:
    """PATCH ``/webhooks/{app}/{token}/messages/@original``: the deferred response becomes ``message``.

    The edit inherits the deferral's visibility: after a public deferral it is public.
    Raises :class:`DiscordError` when Discord does not accept it.
    """
    _webhook(settings, it, "PATCH", "/messages/@original", message, timeout=timeout)


def delete_original(settings: Settings, it: Interaction, *, timeout: float = 10.0) -> None:
    """DELETE ``/webhooks/{app}/{token}/messages/@original``: the deferred response (still
    "thinking", or edited) disappears from the channel. Raises :class:`DiscordError` when Discord
    does not accept it."""
    _webhook(settings, it, "DELETE", "/messages/@original", None, timeout=timeout)


def send_followup(settings: Settings, it: Interaction, message: dict[str, Any], *, timeout: float = 10.0) -> None:
    """POST ``/webhooks/{app}/{token}``: a follow-up message that only the asker sees (flags 64).

    Discord ignores the flag on the first follow-up after a deferral that is still "thinking":
    that follow-up edits the deferral instead, keeping its visibility. After a public deferral,
    delete the original first (:func:`delete_original`). Raises :class:`DiscordError` when Discord
    does not accept it.
    """
    _webhook(settings, it, "POST", "", dict(message, flags=EPHEMERAL), timeout=timeout)


def _webhook(settings: Settings, it: Interaction, method: str, suffix: str, message: dict[str, Any] | None, *,
             timeout: float) -> None:
    """Call the interaction's webhook. The interaction token authorises the call, so no bot
    token is sent. A 429 is retried after Discord's ``retry_after``, a couple of times at most."""
    app_id = it.application_id or settings.discord_application_id
    url = f"{settings.discord_api_url.rstrip('/')}/webhooks/{app_id}/{it.token}{suffix}"
    try:
        with httpx.Client(timeout=timeout) as client:
            for _attempt in range(3):
                resp = client.request(method, url, json=message)
                if resp.status_code != 429:
                    break
                time.sleep(min(_retry_after(resp), 5.0))
    except httpx.HTTPError as exc:
        raise DiscordError(f"Discord could not be reached for interaction {it.id}: {exc!r}") from exc
    if not resp.is_success:
        raise DiscordError(f"Discord refused the {method} {suffix or 'follow-up'} for interaction {it.id}: "
                           f"HTTP {resp.status_code} {' '.join(resp.text[:300].split())}")  # one log line


def _retry_after(resp: httpx.Response) -> float:
    try:
        return float(resp.json().get("retry_after", 1.0))
    except (ValueError, AttributeError):
        return float(resp.headers.get("retry-after", 1.0) or 1.0)


def register_commands(settings: Settings, *, guild_id: str | None = None, timeout: float = 15.0) -> dict[str, Any]:
    """Register ``/story`` with Discord (``storydesk discord register``); returns what Discord
    stored for it.

    Global by default (Discord may take a while to show it everywhere); with ``guild_id`` it is
    registered for that one server, which shows at once and suits testing. PUT replaces the
    application's whole command set, so running it twice is harmless.
    """
    if not settings.discord_application_id or not settings.discord_bot_token:
        raise ValueError("DISCORD_APPLICATION_ID and DISCORD_BOT_TOKEN must be set to register commands")
    base = f"{settings.discord_api_url.rstrip('/')}/applications/{settings.discord_application_id}"
    url = f"{base}/guilds/{guild_id}/commands" if guild_id else f"{base}/commands"
    resp = httpx.put(
        url,
        json=[STORY_COMMAND],
        headers={"Authorization": f"Bot {settings.discord_bot_token}"},
        timeout=timeout,
    )
    if not resp.is_success:
        # The message names the status and Discord's reason, never the token.
        raise RuntimeError(f"Discord refused the command registration ({resp.status_code}): {resp.text[:500]}")
    registered = resp.json()
    if isinstance(registered, list):  # PUT answers with the whole command set
        return next((c for c in registered if c.get("name") == COMMAND_NAME), {})
    return registered
