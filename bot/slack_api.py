"""Slack's side of the protocol: its text, its Web API and response URLs, its log lines.
No storydesk logic: :mod:`bot.slack_app` is the bolt app that uses these.

slack_sdk (Slack's own SDK, which bolt is built on) makes the calls: :class:`~slack_sdk.WebClient`
for ``chat.postMessage`` / ``chat.postEphemeral`` and :class:`~slack_sdk.webhook.WebhookClient`
for response URLs, both with its retry handlers (one dropped connection, and 429s after
``Retry-After``). The log filters keep tokens and forged request bodies out of the log.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot.delivery import Post
from bot.settings import Settings


def from_slack(text: str, bot_user_id: str | None = None) -> str:
    """The user's words: the bot's own mention removed, Slack's ``&amp; &lt; &gt;`` undone."""
    if bot_user_id:
        # A label never holds "<" (Slack escapes it): stopping there keeps this one pass over the
        # text even when a forged one is full of unclosed mentions.
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^<>]*)?>", " ", text)
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


class DropClientTokenWarning(logging.Filter):
    """bolt reads ``SLACK_BOT_TOKEN`` itself and then warns that our client's token wins; it does.

    It also logs a request no listener handles with the whole body and a dozen lines of suggested
    code; a forged request must cost one short line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Unhandled request"):
            record.msg, record.args = message.splitlines()[0][:200], None
        return "`token` will be unused" not in message


def retry_handlers() -> list:
    """One dropped connection retried, and 429s retried after ``Retry-After`` (up to 3 times)."""
    return [ConnectionErrorRetryHandler(max_retry_count=1), RateLimitErrorRetryHandler(max_retry_count=3)]


def quiet_bolt_logs() -> None:
    """Install :class:`DropClientTokenWarning` on bolt's app logger (once)."""
    bolt_logger = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, DropClientTokenWarning) for f in bolt_logger.filters):
        bolt_logger.addFilter(DropClientTokenWarning())


def make_client(settings: Settings) -> WebClient:
    """The Web API client: ``SLACK_API_URL`` as base URL, retrying 429s after ``Retry-After``."""
    base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    return WebClient(token=settings.slack_bot_token or None, base_url=base_url, retry_handlers=retry_handlers())


def post_response(respond: Respond, **message: Any) -> None:
    """Post ``message`` to the request's ``response_url``, retrying 429s after ``Retry-After``
    (bolt's own ``respond`` does not), and raise when Slack refuses, so the failure is logged
    with a ref."""
    if respond.response_url is None:
        raise ValueError("this request has no response_url to answer on")
    client = WebhookClient(url=respond.response_url, proxy=respond.proxy, ssl=respond.ssl,
                           retry_handlers=retry_handlers())
    result = client.send_dict(message)
    if result.status_code != 200:
        raise RuntimeError(f"response_url refused the reply: HTTP {result.status_code} {str(result.body)[:200]}")


def responder(respond: Respond, **fields: Any) -> Post:
    """Posts a message to the request's ``response_url`` with ``fields`` (how Slack shows it)."""
    return lambda message: post_response(respond, **fields, **message)


# A reply only the clicker sees, beside (not instead of) the message clicked.
PRIVATE = {"response_type": "ephemeral", "replace_original": False}
