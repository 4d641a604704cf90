"""The Slack surface: a bolt :class:`~slack_bolt.App` whose listeners are a few lines each.

event -> :func:`bot.commands.parse_command` -> :class:`bot.commands.Commands` -> :mod:`bot.render_slack`
-> post. No command or retrieval logic lives here: this module receives, acks, and hands off.

>>> surface = build_surface(desk, settings, open_bindings(settings))
>>> surface.app          # hand it to bolt's Starlette adapter or to a SocketModeHandler

What users get:

- ``/story <question>``: an ephemeral answer with "Share in channel"; ``/story`` or ``/story help``:
  usage; ``/story stories``, ``/story use <story-id>``, ``/story quotes [name]``, ``/story check "words"``.
- ``@storydesk <question>``: answered in a thread; follow-ups in the thread keep its story.
- Direct messages: answered in the DM.

Delivery is :class:`bot.delivery.Delivery`'s, as on Discord: acked at once, answered within the time
budget from a work pool, failures private (ephemeral) with a ref. Slack's own part is here: events
are answered once (duplicate ``event_id`` deliveries, retried with ``X-Slack-Retry-Num``, and the
``message`` twin of an ``app_mention`` are dropped), a private answer is shared once (a double
click on "Share in channel" is told so privately), and bots, including this one, and edits are ignored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot import render_slack as render
from bot.bindings import ChatBindings
from bot.commands import Commands, Notice, Request, Result, new_ref, parse_command
from bot.delivery import Delivery, Message, open_commands
from bot.feedback import FeedbackStore
from bot.metrics import Metrics
from bot.seen import EventClaims, SeenKeys
from bot.settings import Settings
from bot.slack_api import PRIVATE, RedactSecrets, from_slack, make_client, post_response, quiet_bolt_logs, responder
from bot.workers import TrackedPool

__all__ = ["RedactSecrets", "SlackSurface", "build_surface", "from_slack"]

log = logging.getLogger(__name__)

ACK_WORKERS = 16  # bolt's pool only runs listener bodies, which ack and hand off at once


class SlackSurface:
    """The bolt app, its listeners, and the pools they run on. Commands run in :mod:`bot.commands`."""

    def __init__(self, app: App, listener_pool: TrackedPool, commands: Commands, *,
                 seen: EventClaims | None = None, answer_budget_s: float = 30.0) -> None:
        self.app, self.listener_pool, self.commands = app, listener_pool, commands
        self.bindings = commands.bindings
        self.delivery = Delivery(commands, render.render_result, answer_budget_s=answer_budget_s, sender=listener_pool)
        # Shared with other processes on the same index folder, so a restart never double-posts.
        self._seen: EventClaims = seen or SeenKeys()

    @property
    def admins(self) -> frozenset[str]:
        """Who may run admin-only commands (``/story use``); empty means anyone in the channel."""
        return self.commands.admins

    @admins.setter
    def admins(self, users: frozenset[str]) -> None:
        self.commands.admins = users

    def claim_once(self, key: str) -> bool:
        """True the first time ``key`` is claimed (by any process on this index folder)."""
        return self._seen.claim(key)


    def register(self) -> None:
        """Attach middleware and listeners to :attr:`app`."""
        self.app.use(self.drop_duplicates)
        self.app.command("/story")(self.on_story_command)
        self.app.event("app_mention")(self.on_mention)
        self.app.event("message")(self.on_message)
        self.app.action(render.SHARE_ACTION)(self.on_share)
        self.app.action(render.MORE_ACTION)(self.on_more)
        self.app.action(re.compile("^" + re.escape(render.FEEDBACK_ACTION_PREFIX)))(self.on_feedback)
        self.app.error(self.on_error)


    def drop_duplicates(self, body: dict[str, Any], request: Any, next: Callable[[], BoltResponse]) -> BoltResponse:
        """Answer each event once: Slack redelivers (``X-Slack-Retry-Num``) when we are slow."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not self._seen.claim(f"event:{event_id}"):
            retry = (request.headers.get("x-slack-retry-num") or ["-"])[0]
            log.info("dropping duplicate event %s (retry %s)", event_id, retry)
            return BoltResponse(status=200, body="")
        return next()


    def on_story_command(self, ack: Callable[..., None], command: dict[str, Any], respond: Respond) -> None:
        """``/story ...``: ack now, answer privately via ``response_url``."""
        ack()
        req = self._request(from_slack(command.get("text", "")), channel=command.get("channel_id", ""),
                            user=command.get("user_id", ""))
        self.delivery.submit(req, responder(respond, response_type="ephemeral"), share=True)

    def on_mention(self, event: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        """``@storydesk ...`` in a channel: answer in the thread (the existing one, or a new one)."""
        self._answer_message(event, context, client, in_thread=True)

    def on_message(self, event: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        """Direct messages; channel messages are left to ``app_mention``."""
        if event.get("channel_type") == "im":
            self._answer_message(event, context, client, in_thread=False)

    def on_share(self, ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any],
                 respond: Respond) -> None:
        """"Share in channel": post the answer visibly, then remove the private copy.

        Once per private answer: a double click arrives twice before the first share has removed
        the button, and would post the answer in the channel twice.
        """
        ack()
        user = body.get("user", {}).get("id", "")
        request = self._button_request(action, user)
        container = body.get("container") or {}
        if isinstance(request, Request) and container.get("message_ts") and not self._seen.claim(
                f"share:{container.get('channel_id', '')}:{container['message_ts']}"):
            log.info("slack: dropped a second Share of one answer")
            request = Notice("Share was already clicked on this answer. To share it again, ask again with "
                             "`/story` and share the new answer.")

        def reply(message: Message) -> None:
            post_response(respond, response_type="in_channel", replace_original=False, **message)
            post_response(respond, delete_original=True)

        # Only the sharer sees a failure, and their private answer stays where it was.
        self.delivery.submit(request, reply, responder(respond, **PRIVATE), shared_by=user)

    def on_more(self, ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        """"More": reveal further hits (in place when the answer was private, else privately)."""
        ack()
        container = body.get("container") or {}
        private = bool(container.get("is_ephemeral"))
        thread_ts = container.get("thread_ts") or (body.get("message") or {}).get("thread_ts")

        reply = (responder(respond, replace_original=True) if private
                 else responder(respond, **PRIVATE, thread_ts=thread_ts))
        request = self._button_request(action, body.get("user", {}).get("id", ""))
        self.delivery.submit(request, reply, responder(respond, **PRIVATE), shown=render.MORE_HITS, share=private,
                             more=False)

    def on_feedback(self, ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any],
                    respond: Respond) -> None:
        """👍 / 👎 on an answer, or a reason after 👎: recorded, and the voter alone answered.

        A reason click replaces the question that asked for it; a vote gets a new private reply.
        """
        ack()
        value = action.get("value")
        user = (body.get("user") or {}).get("id", "")
        req = Request("feedback", value if isinstance(value, str) else "", surface="slack",
                      user=user if isinstance(user, str) else "")
        in_place = str(action.get("action_id", "")).removeprefix(render.FEEDBACK_ACTION_PREFIX) not in ("up", "down")

        reply = responder(respond, replace_original=True) if in_place else responder(respond, **PRIVATE)
        self.delivery.submit(req, reply, responder(respond, **PRIVATE))

    def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        """Errors bolt caught outside :class:`~bot.delivery.Delivery` (e.g. a malformed payload): log with a ref."""
        ref = new_ref()
        log.error("unhandled error in a Slack listener (ref %s, request type %s)", ref, body.get("type"),
                  exc_info=error, extra={"ref": ref})


    def _answer_message(self, event: dict[str, Any], context: dict[str, Any], client: WebClient, *,
                        in_thread: bool) -> None:
        if event.get("bot_id") or event.get("subtype") or event.get("edited"):
            return  # other bots, our own posts, edits, joins...: not questions
        channel, ts = event.get("channel", ""), event.get("ts", "")
        if not self._seen.claim(f"message:{channel}:{ts}"):
            return  # the app_mention and message twins of one post: answer once
        thread_ts = event.get("thread_ts") or (ts if in_thread else None)
        user = event.get("user", "")
        req = self._request(from_slack(event.get("text", ""), context.get("bot_user_id")), channel=channel,
                            user=user, thread=f"slack:{channel}:{thread_ts}" if thread_ts else None)
        extra = {"thread_ts": thread_ts} if thread_ts else {}

        def reply(message: Message) -> None:
            client.chat_postMessage(channel=channel, **extra, **message)

        def reply_error(message: Message) -> None:
            # Failures go to the asker alone; in a DM that is the conversation itself.
            if in_thread and user:
                client.chat_postEphemeral(channel=channel, user=user, **extra, **message)
            else:
                client.chat_postMessage(channel=channel, **extra, **message)

        self.delivery.submit(req, reply, reply_error)

    @staticmethod
    def _request(text: str, *, channel: str, user: str, thread: str | None = None) -> Request:
        """The command ``text`` (already :func:`from_slack`) asks for; ``channel`` is Slack's channel id."""
        cmd = parse_command(text)
        return Request(cmd.name, cmd.arg, surface="slack", user=user, channel=f"slack:{channel}", thread=thread,
                       k=render.MORE_HITS)

    @staticmethod
    def _button_request(action: dict[str, Any], user: str) -> Request | Result:
        """The question a Share/More button carries, asked again of its story; a private notice
        when the value is not one storydesk made (forged, truncated, empty or oversized)."""
        try:
            question, story = render.decode_request(action.get("value"))
        except ValueError as exc:
            log.info("slack: refused a button value: %s", exc)
            return Notice("Sorry: that button no longer works. Ask the question again with `/story`.")
        return Request("ask", question, story, surface="slack", user=user, k=render.MORE_HITS, repeat=True)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every listener has run and every answer has been delivered."""
        return self.delivery.wait_idle(timeout)  # the listener pool is the delivery's sender

    def close(self) -> None:
        """Finish in-flight answers and stop the pools."""
        self.listener_pool.shutdown(wait=True)
        self.delivery.close()  # shuts the listener pool again: notices for expired answers are sent from it
        self._seen.close()
        if self.commands.feedback is not None:
            self.commands.feedback.close()


def build_surface(desk: Any, settings: Settings, bindings: ChatBindings, *,
                  client: WebClient | None = None, feedback: FeedbackStore | None = None,
                  metrics: Metrics | None = None) -> SlackSurface:
    """The Slack app for ``desk``, configured from ``settings``; the same app serves HTTP and Socket Mode.

    Signing-secret verification stays on (an empty secret rejects every HTTP request). The token is
    checked with ``auth.test`` here, at start-up, so a bad token fails fast.
    """
    listener_pool = TrackedPool(ACK_WORKERS, "storydesk-bolt")
    quiet_bolt_logs()
    # process_before_response=False: ack first; answers follow via response_url / chat.postMessage.
    app = App(name="storydesk", client=client or make_client(settings), signing_secret=settings.slack_signing_secret,
              process_before_response=False, listener_executor=listener_pool, request_verification_enabled=True)
    commands = open_commands(desk, settings, bindings, metrics=metrics, admins=settings.admin_users, feedback=feedback)
    surface = SlackSurface(app, listener_pool, commands, seen=bindings.seen_keys(),
                           answer_budget_s=settings.answer_budget_s)
    surface.register()
    return surface
