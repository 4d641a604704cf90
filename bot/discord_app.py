"""Discord slash commands over the HTTP interactions endpoint: ``POST /discord/interactions``.

A thin adapter, in the spirit of bolt-python's Starlette handler: verify the request and read the
interaction (:mod:`bot.discord_api`), turn it into a :class:`bot.commands.Request`, and hand it to
:class:`bot.delivery.Delivery`, which runs it, renders it with :mod:`bot.render_discord`, keeps
the time budget and posts it once, errors privately with a ref, as for Slack.

    routes = discord_routes(desk, settings, bindings)   # mounted by bot.server
    register_commands(settings)                         # `storydesk discord register`

Discord's own part is here: an endpoint has 3 seconds to answer. An answer ready within
:data:`REPLY_WITHIN_S` goes back in the HTTP response (type 4); otherwise the endpoint defers
(type 5, "storydesk is thinking...") and the answer edits the original response when it is ready.
A refusal or failure after a public deferral deletes it and reaches the asker as an ephemeral
follow-up (:class:`Handoff`), so a public command never shows an error to the channel.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from nacl.signing import VerifyKey
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import commands, feedback
from bot import discord_api as api
from bot import render_discord as render
from bot.bindings import ChatBindings
from bot.commands import new_ref
from bot.delivery import Delivery, Message, Reply, open_commands
from bot.discord_api import EPHEMERAL, STORY_COMMAND, Interaction, register_commands
from bot.http_guard import Rejected, decode_text, loads_object, read_body
from bot.metrics import Metrics
from bot.settings import Settings

__all__ = ["STORY_COMMAND", "DiscordEndpoint", "discord_routes", "register_commands"]

log = logging.getLogger(__name__)

# Discord's window is 3 s from its side; a second is left for the network and the event loop.
REPLY_WITHIN_S = 2.0
# How long a deferred answer waits for the deferral to reach Discord before editing it.
ACK_WAIT_S = 10.0
BINDING_PREFIX = "discord:"


class Handoff:
    """Where one interaction's answer goes: back in the HTTP response while the endpoint still
    waits for it, else, once the endpoint has deferred, to Discord's webhook for the interaction.
    With ``deferred`` it always goes to the webhook (the endpoint will not wait).

    After a deferral, only an answer edits it. A refusal, failure or notice is for the asker alone:
    it edits a private deferral, but a public one is deleted and the asker gets an ephemeral
    follow-up instead, so the channel never sees it. Delete first: a follow-up sent while the
    deferral is still "thinking" would edit it, publicly (Discord ignores its ephemeral flag).
    """

    def __init__(self, settings: Settings, it: Interaction, *, deferred: bool = False) -> None:
        self.settings, self.it = settings, it
        self._direct: Future[Reply] = Future()
        self._deferred = deferred
        self._lock = threading.Lock()
        self._acked = threading.Event()

    @property
    def deferral(self) -> dict[str, Any]:
        """The type 5 acknowledgement; its visibility is fixed here, and an edit inherits it."""
        return {"type": api.DEFERRED_CHANNEL_MESSAGE, "data": {"flags": EPHEMERAL} if self.it.ephemeral else {}}

    def reply(self, message: Message) -> None:
        """Post the answer; raises when Discord refuses it (the delivery then tells the asker)."""
        if self._direct_reply(Reply(message)):
            return
        api.edit_original(self.settings, self.it, message)

    def reply_error(self, message: Message) -> None:
        """Tell the asker alone; never raises: a failure is one log line with a ref."""
        if self._direct_reply(Reply(message, private=True)):
            return
        try:
            if self.it.ephemeral:
                api.edit_original(self.settings, self.it, message)
            else:
                api.delete_original(self.settings, self.it)
                api.send_followup(self.settings, self.it, message)
        except api.DiscordError as exc:
            # Nothing more to try: had the delete failed, a follow-up would edit the public deferral.
            ref = new_ref()
            log.warning("discord: could not tell the asker privately (interaction %s, ref %s): %s",
                        self.it.id, ref, exc, extra={"ref": ref})

    def _direct_reply(self, reply: Reply) -> bool:
        """Hand ``reply`` to the waiting endpoint, if it still waits; else wait until Discord has
        the deferral (it edits, deletes and follows up only a response it has been sent)."""
        with self._lock:
            if not self._deferred:
                self._direct.set_result(reply)
                return True
        self._acked.wait(ACK_WAIT_S)
        return False

    async def direct(self, within: float) -> Reply | None:
        """The reply if it is ready within ``within`` seconds; else None, and it will edit the deferral."""
        if self._deferred:
            return None
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self._direct)), within)
        except TimeoutError:
            with self._lock:
                if self._direct.done():  # it arrived just as the wait ended
                    return self._direct.result()
                self._deferred = True
                return None

    def deferral_sent(self) -> None:
        self._acked.set()


class DiscordEndpoint:
    """The Starlette endpoint for ``POST /discord/interactions``."""

    def __init__(self, desk: Any, settings: Settings, bindings: ChatBindings, *, reply_within: float = REPLY_WITHIN_S,
                 clock: Callable[[], float] = time.time, answer_budget_s: float | None = None,
                 metrics: Metrics | None = None) -> None:
        if not settings.discord_public_key:
            raise ValueError("DISCORD_PUBLIC_KEY is not set; Discord interactions cannot be verified")
        try:
            self.key = VerifyKey(bytes.fromhex(settings.discord_public_key))
        except ValueError as exc:
            raise ValueError("DISCORD_PUBLIC_KEY must be the 64-hex-digit key from the Developer Portal") from exc
        self.settings = settings
        # Discord's own permission bits decide admin rights here (Interaction.permissions).
        self.commands = open_commands(desk, settings, bindings, metrics=metrics)
        # Past the budget, a deferred answer is replaced by a polite "took too long" instead of silence.
        budget = settings.answer_budget_s if answer_budget_s is None else answer_budget_s
        self.delivery = Delivery(self.commands, render.render_result, answer_budget_s=budget,
                                 render_undelivered=lambda ref: render.render_error(
                                     "Sorry, the answer could not be delivered.", ref=ref))
        self.reply_within = reply_within
        self.clock = clock
        self.max_body = settings.max_body_bytes
        self.body_timeout_s = settings.body_timeout_s

    async def handle(self, request: Request) -> Response:
        """Read within the size limit, verify, then parse and answer one interaction.

        Verification comes before anything looks at the body, as Discord requires. Malformed but
        signed input gets a 400 and one log line.
        """
        try:
            body = await read_body(request, self.max_body, self.body_timeout_s)
            if not api.verify_request(self.key, request.headers, body, now=self.clock()):
                return JSONResponse({"error": "invalid request signature"}, status_code=401)
            it = Interaction.from_payload(loads_object(decode_text(body)))
        except Rejected as exc:
            log.warning("discord: refused a request with %d: %s", exc.status, exc.reason)
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        if it.type == api.PING:
            return JSONResponse({"type": api.PONG})
        if it.type == api.AUTOCOMPLETE:
            choices = await asyncio.to_thread(self._autocomplete, it)
            return JSONResponse({"type": api.AUTOCOMPLETE_RESULT, "data": {"choices": choices}})
        if it.type == api.APPLICATION_COMMAND:
            return await self._command(it)
        if it.type == api.MESSAGE_COMPONENT:
            return await self._component(it)
        return JSONResponse({"error": f"unsupported interaction type {it.type}"}, status_code=400)

    def _autocomplete(self, it: Interaction) -> list[dict[str, str]]:
        """Story choices matching what the user has typed so far (Discord shows up to 25)."""
        if it.focused != "story":
            return []
        try:
            stories = self.commands.story_choices(commands.option_text(it.options, "story"), limit=1000)
        except commands.CommandError:  # typed garbage (a non-text option): nothing to offer
            return []
        except Exception:
            # Autocomplete has no message to show; an empty list is the visible "no match".
            log.exception("discord autocomplete failed")
            return []
        choices = [{"name": render.trim(f"{s.headline} ({s.id})" if s.headline else s.id, 100), "value": s.id}
                   for s in stories]
        return [c for c in choices if len(c["value"]) <= 100][:25]

    async def _component(self, it: Interaction) -> Response:
        """A 👍 / 👎 / reason click: recorded, and answered to the clicker alone. A reason after 👎
        replaces the question that asked for it; a button storydesk did not make gets a notice."""
        choice, _, answer_id = it.custom_id.removeprefix(render.FEEDBACK_PREFIX).partition(":")
        if not it.custom_id.startswith(render.FEEDBACK_PREFIX):
            choice = answer_id = ""
        request = commands.Request("feedback", f"{choice} {answer_id}", surface="discord", user=it.user_id)
        reply = await asyncio.to_thread(self.delivery.answer, request)
        if choice in feedback.REASONS and not reply.private:
            return JSONResponse({"type": api.UPDATE_MESSAGE, "data": reply.message})
        return JSONResponse({"type": api.CHANNEL_MESSAGE, "data": dict(reply.message, flags=EPHEMERAL)})

    async def _command(self, it: Interaction) -> Response:
        handoff = Handoff(self.settings, it, deferred=self.reply_within <= 0)
        self.delivery.submit(self._request(it), handoff.reply, handoff.reply_error)
        reply = await handoff.direct(self.reply_within)
        if reply is None:
            # Too slow for Discord's window: acknowledge now, edit the original when done.
            return JSONResponse(handoff.deferral, background=BackgroundTask(handoff.deferral_sent))
        data = dict(reply.message)
        if it.ephemeral or reply.private:
            data["flags"] = EPHEMERAL
        return JSONResponse({"type": api.CHANNEL_MESSAGE, "data": data})

    def route(self) -> Route:
        return Route("/discord/interactions", self.handle, methods=["POST"], name="discord_interactions")

    def close(self) -> None:
        """Finish in-flight answers and stop the pools."""
        self.delivery.close()
        if self.commands.feedback is not None:
            self.commands.feedback.close()

    @staticmethod
    def _request(it: Interaction) -> commands.Request | commands.Result:
        """The command ``/story <sub> opt:value`` asks for; a notice when an option has the wrong type."""
        try:
            return commands.from_options(
                it.subcommand, it.options, surface="discord", user=it.user_id,
                channel=BINDING_PREFIX + it.channel_id if it.channel_id else "",
                # In a server, rebinding a channel takes a channel manager; in a DM the user is the channel.
                manages_channel=True if it.permissions is None else bool(it.permissions & api.BIND_PERMISSIONS))
        except commands.CommandError as exc:
            return commands.Notice(str(exc))


def discord_routes(desk: Any, settings: Settings, bindings: ChatBindings, **options: Any) -> list[Route]:
    """The routes ``bot.server`` mounts when ``DISCORD_PUBLIC_KEY`` is set.

    ``options`` go to :class:`DiscordEndpoint` (``metrics``; ``reply_within``, ``clock`` for tests).
    Raises ``ValueError`` at start-up when the public key is missing or malformed.
    """
    return [DiscordEndpoint(desk, settings, bindings, **options).route()]
