"""Discord slash commands over the HTTP interactions endpoint: ``POST /discord/interactions``.

A thin adapter, in the spirit of bolt-python's Starlette handler: verify the request, translate
the interaction into a :class:`bot.commands.Request`, run it with :class:`bot.commands.Commands`,
and render the result with :mod:`bot.render_discord`. No command or retrieval logic lives here;
even the registered ``/story`` command is built from :data:`bot.commands.COMMANDS`.

    routes = discord_routes(desk, settings, bindings)   # mounted by bot.server
    register_commands(settings)                         # `storydesk discord register`

Discord gives an endpoint 3 seconds to answer. Each command runs in a worker thread; if it
finishes within :data:`REPLY_WITHIN_S` the answer goes back directly (type 4), otherwise the
endpoint defers (type 5, "storydesk is thinking...") and edits the original response through the
webhook API when the answer is ready. Every failure ends in a visible short error carrying a
reference id that is also logged with the traceback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import commands, feedback
from bot import render_discord as render
from bot.bindings import ChatBindings, state_folder
from bot.feedback import open_feedback
from bot.http_guard import Rejected, decode_text, loads_object, read_body
from bot.metrics import Metrics
from bot.settings import Settings
from bot.story_links import StoryLinks

log = logging.getLogger(__name__)

# Interaction types Discord sends, and the response types we answer with.
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE = 1, 2, 3, 4
PONG, CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, UPDATE_MESSAGE, AUTOCOMPLETE_RESULT = 1, 4, 5, 7, 8
EPHEMERAL = 1 << 6
# Option types used by the /story command.
SUB_COMMAND, STRING, BOOLEAN = 1, 3, 5
# Permission bits that may rebind a channel: ADMINISTRATOR, MANAGE_CHANNELS, MANAGE_GUILD.
BIND_PERMISSIONS = (1 << 3) | (1 << 4) | (1 << 5)

MAX_SKEW_S = 300
# Discord's window is 3 s from its side; a second is left for the network and the event loop.
REPLY_WITHIN_S = 2.0
COMMAND_NAME = "story"
BINDING_PREFIX = "discord:"


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


# --- the commands -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A rendered message, and whether it reports a failure (errors are shown only to the asker
    whenever the response type still allows it)."""

    message: render.Message
    error: bool = False


def run_interaction(cmds: commands.Commands, it: Interaction) -> Reply:
    """The reply to one ``/story`` interaction; never raises. Blocks: run it in a worker thread."""
    try:
        request = commands.from_options(
            it.subcommand, it.options, surface="discord", user=it.user_id,
            channel=BINDING_PREFIX + it.channel_id if it.channel_id else "",
            # In a server, rebinding a channel takes a channel manager; in a DM the user is the channel.
            manages_channel=True if it.permissions is None else bool(it.permissions & BIND_PERMISSIONS))
        result = cmds.run(request)
    except commands.CommandError as exc:
        result = commands.Notice(str(exc))
    try:
        return Reply(render.render_result(result), error=commands.is_private(result))
    except Exception:
        ref = commands.new_ref()
        log.exception("discord /story %s could not be rendered ref=%s", it.subcommand, ref, extra={"ref": ref})
        return _error("Sorry, something went wrong answering that.", ref=ref)


def run_component(cmds: commands.Commands, it: Interaction) -> tuple[Reply, bool]:
    """The reply to a button click, and whether it replaces the message clicked (a reason after
    👎 replaces the question that asked for it). A button storydesk did not make gets a notice."""
    choice, _, answer_id = it.custom_id.removeprefix(render.FEEDBACK_PREFIX).partition(":")
    if not it.custom_id.startswith(render.FEEDBACK_PREFIX):
        choice = answer_id = ""
    result = cmds.run(commands.Request("feedback", f"{choice} {answer_id}", surface="discord", user=it.user_id))
    reply = Reply(render.render_result(result), error=commands.is_private(result))
    return reply, choice in feedback.REASONS and not reply.error


def autocomplete(cmds: commands.Commands, it: Interaction) -> list[dict[str, str]]:
    """Story choices matching what the user has typed so far (Discord shows up to 25)."""
    if it.focused != "story":
        return []
    choices = [
        {"name": render.trim(f"{s.headline} ({s.id})" if s.headline else s.id, 100), "value": s.id}
        for s in cmds.story_choices(commands.option_text(it.options, "story"), limit=1000)
    ]
    return [c for c in choices if len(c["value"]) <= 100][:25]


def _error(text: str, *, ref: str | None = None) -> Reply:
    return Reply(render.render_error(text, ref=ref), error=True)


# --- the endpoint -------------------------------------------------------------------------------


class DiscordEndpoint:
    """The Starlette endpoint for ``POST /discord/interactions``."""

    def __init__(
        self,
        desk: Any,
        settings: Settings,
        bindings: ChatBindings,
        *,
        reply_within: float = REPLY_WITHIN_S,
        clock: Callable[[], float] = time.time,
        answer_budget_s: float | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        if not settings.discord_public_key:
            raise ValueError("DISCORD_PUBLIC_KEY is not set; Discord interactions cannot be verified")
        try:
            self.key = VerifyKey(bytes.fromhex(settings.discord_public_key))
        except ValueError as exc:
            raise ValueError("DISCORD_PUBLIC_KEY must be the 64-hex-digit key from the Developer Portal") from exc
        self.settings = settings
        # Discord's own permission bits decide admin rights here (Interaction.permissions).
        self.commands = commands.Commands(
            desk, bindings, feedback=open_feedback(settings, state_folder(bindings, settings)),
            metrics=metrics, links=StoryLinks.for_desk(desk, settings))
        self.reply_within = reply_within
        self.clock = clock
        self.max_body = settings.max_body_bytes
        # Past this, a deferred answer is replaced by a polite "took too long" instead of silence.
        self.answer_budget_s = settings.answer_budget_s if answer_budget_s is None else answer_budget_s

    async def handle(self, request: Request) -> Response:
        """Read within the size limit, verify, then parse and answer one interaction.

        Verification comes before anything looks at the body, as Discord requires. Malformed but
        signed input gets a 400 and one log line.
        """
        try:
            body = await read_body(request, self.max_body)
            if not verify_request(self.key, request.headers, body, now=self.clock()):
                return JSONResponse({"error": "invalid request signature"}, status_code=401)
            it = Interaction.from_payload(loads_object(decode_text(body)))
        except Rejected as exc:
            log.warning("discord: refused a request with %d: %s", exc.status, exc.reason)
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        if it.type == PING:
            return JSONResponse({"type": PONG})
        if it.type == AUTOCOMPLETE:
            choices = await asyncio.to_thread(self._autocomplete, it)
            return JSONResponse({"type": AUTOCOMPLETE_RESULT, "data": {"choices": choices}})
        if it.type == APPLICATION_COMMAND:
            return await self._command(it)
        if it.type == MESSAGE_COMPONENT:
            return await self._component(it)
        return JSONResponse({"error": f"unsupported interaction type {it.type}"}, status_code=400)

    def _autocomplete(self, it: Interaction) -> list[dict[str, str]]:
        try:
            return autocomplete(self.commands, it)
        except commands.CommandError:  # typed garbage (a non-text option): nothing to offer
            return []
        except Exception:
            # Autocomplete has no message to show; an empty list is the visible "no match".
            log.exception("discord autocomplete failed")
            return []

    async def _component(self, it: Interaction) -> Response:
        """A 👍 / 👎 / reason click: recorded, and answered to the clicker alone."""
        try:
            reply, in_place = await asyncio.to_thread(run_component, self.commands, it)
        except Exception:  # the store failed: still a private reply, never a 500
            ref = commands.new_ref()
            log.exception("discord: a feedback click failed ref=%s", ref, extra={"ref": ref})
            reply, in_place = _error("Sorry, that feedback could not be recorded.", ref=ref), False
        if in_place:
            return JSONResponse({"type": UPDATE_MESSAGE, "data": reply.message})
        return JSONResponse({"type": CHANNEL_MESSAGE, "data": dict(reply.message, flags=EPHEMERAL)})

    async def _command(self, it: Interaction) -> Response:
        work = asyncio.ensure_future(asyncio.to_thread(run_interaction, self.commands, it))
        try:
            reply = await asyncio.wait_for(asyncio.shield(work), self.reply_within)
        except TimeoutError:
            # Too slow for Discord's window: acknowledge now, edit the original when done.
            # Ephemerality is fixed by this acknowledgement; the edit inherits it.
            return JSONResponse(
                {"type": DEFERRED_CHANNEL_MESSAGE, "data": {"flags": EPHEMERAL} if it.ephemeral else {}},
                background=BackgroundTask(self._finish, it, work),
            )
        data = dict(reply.message)
        if it.ephemeral or reply.error:
            data["flags"] = EPHEMERAL
        return JSONResponse({"type": CHANNEL_MESSAGE, "data": data})

    async def _finish(self, it: Interaction, work: asyncio.Future[Reply]) -> None:
        """Edit the deferred response with the answer; fall back to an error with a ref."""
        try:
            reply = await asyncio.wait_for(asyncio.shield(work), max(0.0, self.answer_budget_s - self.reply_within))
        except TimeoutError:
            log.warning("discord: interaction %s took longer than %.0f s; the asker was told",
                        it.id, self.answer_budget_s)
            reply = _error(f"Sorry: that took longer than {self.answer_budget_s:.0f} seconds, so storydesk "
                           "stopped waiting. Try a shorter question, or ask about one story.")
        if await self._edit_original(it, reply.message):
            return
        ref = commands.new_ref()
        log.error("discord: could not deliver the answer to interaction %s ref=%s", it.id, ref, extra={"ref": ref})
        await self._edit_original(it, render.render_error("Sorry, the answer could not be delivered.", ref=ref))

    async def _edit_original(self, it: Interaction, reply: render.Message) -> bool:
        """PATCH ``/webhooks/{app}/{token}/messages/@original``; True when Discord accepted it.

        The interaction token authorises the call, so no bot token is sent. A 429 is retried
        after Discord's ``retry_after``, a couple of times at most.
        """
        app_id = it.application_id or self.settings.discord_application_id
        url = f"{self.settings.discord_api_url.rstrip('/')}/webhooks/{app_id}/{it.token}/messages/@original"
        async with httpx.AsyncClient(timeout=10.0) as client:
            for _attempt in range(3):
                try:
                    resp = await client.patch(url, json=reply)
                except httpx.HTTPError:
                    log.exception("discord: webhook edit failed for interaction %s", it.id)
                    return False
                if resp.status_code == 429:
                    await asyncio.sleep(min(_retry_after(resp), 5.0))
                    continue
                if resp.is_success:
                    return True
                log.error("discord: webhook edit for %s got %s: %s", it.id, resp.status_code, resp.text[:500])
                return False
        return False


def _retry_after(resp: httpx.Response) -> float:
    try:
        return float(resp.json().get("retry_after", 1.0))
    except (ValueError, AttributeError):
        return float(resp.headers.get("retry-after", 1.0) or 1.0)


def discord_routes(desk: Any, settings: Settings, bindings: ChatBindings, **options: Any) -> list[Route]:
    """The routes ``bot.server`` mounts when ``DISCORD_PUBLIC_KEY`` is set.

    ``options`` go to :class:`DiscordEndpoint` (``metrics``; ``reply_within``, ``clock`` for tests).
    Raises ``ValueError`` at start-up when the public key is missing or malformed.
    """
    endpoint = DiscordEndpoint(desk, settings, bindings, **options)
    return [Route("/discord/interactions", endpoint.handle, methods=["POST"], name="discord_interactions")]


# --- command registration -----------------------------------------------------------------------


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
