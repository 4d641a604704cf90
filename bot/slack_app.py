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
``message`` twin of an ``app_mention`` are dropped), and bots, including this one, and edits are ignored.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot import render_slack as render
from bot.bindings import ChatBindings, state_folder
from bot.commands import Commands, Notice, Request, Result, new_ref, parse_command
from bot.delivery import Delivery, Message, Post
from bot.feedback import FeedbackStore, open_feedback
from bot.metrics import Metrics
from bot.seen import EventClaims, SeenKeys
from bot.settings import Settings
from bot.story_links import StoryLinks
from bot.workers import TrackedPool

log = logging.getLogger(__name__)

ACK_WORKERS = 16  # bolt's pool only runs listener bodies, which ack and hand off at once


# --------------------------------------------------------------------------- commands


def from_slack(text: str, bot_user_id: str | None = None) -> str:
    """The user's words: the bot's own mention removed, Slack's ``&amp; &lt; &gt;`` undone."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", " ", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


_SECRET = re.compile(
    r"xox[a-z]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|(?<=token=)[^&\s'\",]+|(?<=['\"]token['\"]: ['\"])[^'\"]+"
)


class RedactSecrets(logging.Filter):
    """Replaces Slack tokens in log records (bolt logs rejected request bodies at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET.sub("[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class _DropClientTokenWarning(logging.Filter):
    """bolt reads ``SLACK_BOT_TOKEN`` itself and then warns that our client's token wins; it does.

    It also logs a request no listener handles with the whole body and a dozen lines of suggested
    code; a forged request must cost one short line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Unhandled request"):
            record.msg, record.args = message.splitlines()[0][:200], None
        return "`token` will be unused" not in message


def _retry_handlers() -> list:
    """One dropped connection retried, and 429s retried after ``Retry-After`` (up to 3 times)."""
    return [ConnectionErrorRetryHandler(max_retry_count=1), RateLimitErrorRetryHandler(max_retry_count=3)]


def make_client(settings: Settings) -> WebClient:
    """The Web API client: ``SLACK_API_URL`` as base URL, retrying 429s after ``Retry-After``."""
    base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    return WebClient(token=settings.slack_bot_token or None, base_url=base_url, retry_handlers=_retry_handlers())


def _respond(respond: Respond, **message: Any) -> None:
    """Post ``message`` to the request's ``response_url``, retrying 429s after ``Retry-After``
    (bolt's own ``respond`` does not), and raise when Slack refuses, so the failure is logged
    with a ref."""
    if respond.response_url is None:
        raise ValueError("this request has no response_url to answer on")
    client = WebhookClient(url=respond.response_url, proxy=respond.proxy, ssl=respond.ssl,
                           retry_handlers=_retry_handlers())
    result = client.send_dict(message)
    if result.status_code != 200:
        raise RuntimeError(f"response_url refused the reply: HTTP {result.status_code} {str(result.body)[:200]}")


def _responder(respond: Respond, **fields: Any) -> Post:
    """Posts a message to the request's ``response_url`` with ``fields`` (how Slack shows it)."""
    return lambda message: _respond(respond, **fields, **message)


# A reply only the clicker sees, beside (not instead of) the message clicked.
PRIVATE = {"response_type": "ephemeral", "replace_original": False}


# --------------------------------------------------------------------------- the surface


class SlackSurface:
    """The bolt app, its listeners, and the pools they run on. Commands run in :mod:`bot.commands`."""

    def __init__(self, desk: Any, bindings: ChatBindings, app: App, listener_pool: TrackedPool,
                 admins: frozenset[str] = frozenset(), seen: EventClaims | None = None,
                 answer_budget_s: float = 30.0, feedback: FeedbackStore | None = None,
                 metrics: Metrics | None = None) -> None:
        self.desk = desk
        self.bindings = bindings
        self.commands = Commands(desk, bindings, admins=admins, feedback=feedback, metrics=metrics)
        self.app = app
        self.listener_pool = listener_pool
        self.delivery = Delivery(self.commands, render.render_result, answer_budget_s=answer_budget_s,
                                 sender=listener_pool)
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

    # ------------------------------------------------------------------ registration

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

    # ------------------------------------------------------------------ middleware

    def drop_duplicates(self, body: dict[str, Any], request: Any, next: Callable[[], BoltResponse]) -> BoltResponse:
        """Answer each event once: Slack redelivers (``X-Slack-Retry-Num``) when we are slow."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not self._seen.claim(f"event:{event_id}"):
            retry = (request.headers.get("x-slack-retry-num") or ["-"])[0]
            log.info("dropping duplicate event %s (retry %s)", event_id, retry)
            return BoltResponse(status=200, body="")
        return next()

    # ------------------------------------------------------------------ listeners

    def on_story_command(self, ack: Callable[..., None], command: dict[str, Any], respond: Respond) -> None:
        """``/story ...``: ack now, answer privately via ``response_url``."""
        ack()
        req = self._request(from_slack(command.get("text", "")), channel=command.get("channel_id", ""),
                            user=command.get("user_id", ""))
        self.delivery.submit(req, _responder(respond, response_type="ephemeral"), share=True)

    def on_mention(self, event: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        """``@storydesk ...`` in a channel: answer in the thread (the existing one, or a new one)."""
        self._answer_message(event, context, client, in_thread=True)

    def on_message(self, event: dict[str, Any], context: dict[str, Any], client: WebClient) -> None:
        """Direct messages; channel messages are left to ``app_mention``."""
        if event.get("channel_type") == "im":
            self._answer_message(event, context, client, in_thread=False)

    def on_share(self, ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any],
                 respond: Respond) -> None:
        """"Share in channel": post the answer visibly, then remove the private copy."""
        ack()
        user = body.get("user", {}).get("id", "")

        def reply(message: Message) -> None:
            _respond(respond, response_type="in_channel", replace_original=False, **message)
            _respond(respond, delete_original=True)

        # Only the sharer sees a failure, and their private answer stays where it was.
        self.delivery.submit(self._button_request(action, user), reply, _responder(respond, **PRIVATE),
                             shared_by=user)

    def on_more(self, ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        """"More": reveal further hits (in place when the answer was private, else privately)."""
        ack()
        container = body.get("container") or {}
        private = bool(container.get("is_ephemeral"))
        thread_ts = container.get("thread_ts") or (body.get("message") or {}).get("thread_ts")

        reply = (_responder(respond, replace_original=True) if private
                 else _responder(respond, **PRIVATE, thread_ts=thread_ts))
        request = self._button_request(action, body.get("user", {}).get("id", ""))
        self.delivery.submit(request, reply, _responder(respond, **PRIVATE), shown=render.MORE_HITS, share=private,
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

        reply = _responder(respond, replace_original=True) if in_place else _responder(respond, **PRIVATE)
        self.delivery.submit(req, reply, _responder(respond, **PRIVATE))

    def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        """Errors bolt caught outside :class:`~bot.delivery.Delivery` (e.g. a malformed payload): log with a ref."""
        ref = new_ref()
        log.error("unhandled error in a Slack listener (ref %s, request type %s)", ref, body.get("type"),
                  exc_info=error, extra={"ref": ref})

    # ------------------------------------------------------------------ helpers

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
        deadline = time.monotonic() + timeout
        # Listeners hand work to the answer pool before they finish, so listeners first, then answers.
        return self.listener_pool.wait_idle(timeout) and self.delivery.wait_idle(max(0.0, deadline - time.monotonic()))

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
    bolt_logger = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, _DropClientTokenWarning) for f in bolt_logger.filters):
        bolt_logger.addFilter(_DropClientTokenWarning())
    app = App(
        name="storydesk",
        client=client or make_client(settings),
        signing_secret=settings.slack_signing_secret,
        process_before_response=False,  # ack first; answers follow via response_url / chat.postMessage
        listener_executor=listener_pool,
        request_verification_enabled=True,
    )
    folder = state_folder(bindings, settings)
    surface = SlackSurface(desk, bindings, app, listener_pool, admins=settings.admin_users,
                           seen=bindings.seen_keys(), answer_budget_s=settings.answer_budget_s,
                           feedback=feedback or open_feedback(settings, folder),
                           metrics=metrics)
    surface.commands.links = StoryLinks.for_desk(desk, settings)
    surface.register()
    return surface
