"""The neutral delivery flow (bot/delivery.py) with real parts: the real desk and command layer,
Slack's renderer, and replies posted by a real slack_sdk ``WebClient`` to the Slack stand-in.

Each test posts answers the way the Slack adapter does for a mention: ``reply`` is
``chat.postMessage`` (visible to the channel) and ``reply_error`` is ``chat.postEphemeral`` (the
asker alone), so "never posted publicly by mistake" is read off what the stand-in received. The
last test drives the same flow through Discord's endpoint: a signed interaction, the Discord stand-in.
Waits are bounded waits on conditions; a held question waits at a gate the test opens.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from slack_api_stub import SlackAPIStub
from slack_sdk import WebClient

from bot import render_slack as render
from bot.bindings import Bindings
from bot.commands import Notice, Request
from bot.delivery import Delivery, Post, open_commands

COX = "What did Matt Cox tell the Assembly?"
COX_WORDS = "This is about embedding the 371 school officers"
CHANNEL, ASKER = "C0DELIVERY", "U0ASKER"


class HeldDesk:
    """The real desk; ``ask`` and ``check`` wait at ``gate`` while ``hold`` is set, and ``ask`` can fail."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.hold, self.gate, self.waiting = threading.Event(), threading.Event(), threading.Event()
        self.fail = False
        self.asked: list[str] = []

    def _wait(self) -> None:
        if self.hold.is_set():
            self.waiting.set()
            assert self.gate.wait(60), "the test never opened the gate"

    def ask(self, question: str, *args: Any, **kwargs: Any) -> Any:
        self.asked.append(question)
        self._wait()
        if self.fail:
            raise RuntimeError("search index exploded")
        return self.real.ask(question, *args, **kwargs)

    def check(self, *args: Any, **kwargs: Any) -> Any:
        self._wait()
        return self.real.check(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackAPIStub]:
    with SlackAPIStub() as stub:
        yield stub


@pytest.fixture()
def held(desk) -> Iterator[HeldDesk]:
    held = HeldDesk(desk)
    yield held
    held.gate.set()


def make_delivery(held: HeldDesk, settings, tmp_path, budget_s: float = 30.0) -> Delivery:
    commands = open_commands(held, replace(settings, index_dir=tmp_path), Bindings.in_folder(tmp_path))
    return Delivery(commands, render.render_result, answer_budget_s=budget_s)


@pytest.fixture()
def delivery(held, settings, tmp_path) -> Iterator[Delivery]:
    delivery = make_delivery(held, settings, tmp_path)
    yield delivery
    held.gate.set()
    delivery.close()


def posters(slack: SlackAPIStub, token: str = "xoxb-delivery-test") -> tuple[Post, Post]:
    """A mention's two ways to post, through a real Web API client: in the channel, or to the asker alone."""
    client = WebClient(token=token, base_url=slack.api_url)
    return (lambda message: client.chat_postMessage(channel=CHANNEL, **message),
            lambda message: client.chat_postEphemeral(channel=CHANNEL, user=ASKER, **message))


def public(slack: SlackAPIStub) -> list:
    return slack.messages(lambda r: r.method == "chat.postMessage")


def private(slack: SlackAPIStub) -> list:
    return slack.messages(lambda r: r.method == "chat.postEphemeral")


def ask(text: str) -> Request:
    return Request("ask", text, surface="slack", user=ASKER, channel=f"slack:{CHANNEL}")


def test_an_answer_is_posted_once_where_it_was_asked(delivery, slack):
    slack.clear()
    delivery.submit(ask(COX), *posters(slack))
    assert delivery.wait_idle(60)
    [post] = public(slack)
    assert COX_WORDS in post.text and post.problems == []
    assert any(a.startswith(render.FEEDBACK_ACTION_PREFIX) for a in post.buttons)  # open_commands wired feedback
    assert private(slack) == []


def test_refusals_and_failures_go_to_the_asker_alone_and_a_bug_has_a_logged_ref(delivery, held, slack, caplog):
    slack.clear()
    delivery.submit(ask("why " * 300), *posters(slack))  # too long: a notice saying what to change
    delivery.submit(Notice("Sorry: that button no longer works."), *posters(slack))  # a ready result
    assert delivery.wait_idle(60)
    held.fail = True
    with caplog.at_level(logging.ERROR):
        delivery.submit(ask(COX), *posters(slack))
        assert delivery.wait_idle(60)
    too_long, stale, failed = private(slack)
    assert "1,000" in too_long.text and "ref" not in too_long.text
    assert "no longer works" in stale.text
    ref = re.search(r"Something went wrong \(ref ([0-9A-F]+)\)", failed.text).group(1)
    [record] = [r for r in caplog.records if ref in r.getMessage()]
    assert record.exc_info and "search index exploded" in str(record.exc_info[1])
    assert all(r.body["user"] == ASKER for r in private(slack))
    assert public(slack) == []


def test_past_its_budget_the_asker_is_told_and_the_late_answer_is_dropped(held, settings, tmp_path, slack):
    slack.clear()
    delivery = make_delivery(held, settings, tmp_path, budget_s=0.2)
    held.hold.set()
    try:
        delivery.submit(ask(COX), *posters(slack))
        assert held.waiting.wait(60)
        delivery.submit(ask("Who called the decision catastrophic?"), *posters(slack))  # queued behind it
        told = slack.wait_for(lambda r: r.method == "chat.postEphemeral", count=2)
        assert all("took longer than" in r.text for r in told)
        held.gate.set()
        assert delivery.wait_idle(60)
    finally:
        held.gate.set()
        delivery.close()
    assert len(private(slack)) == 2 and public(slack) == []  # each told once; no late answer posted
    assert held.asked == [COX]  # the queued question expired before it ran, so it never ran


def test_a_slow_command_never_holds_up_a_question(delivery, held, slack):
    slack.clear()
    held.hold.set()
    delivery.submit(Request("check", COX_WORDS, surface="slack", user=ASKER), *posters(slack))
    assert held.waiting.wait(60)  # the check is running, and held
    held.hold.clear()
    delivery.submit(ask(COX), *posters(slack))
    [answer] = slack.wait_for(lambda r: r.method == "chat.postMessage")
    assert COX_WORDS in answer.text
    held.gate.set()
    assert delivery.wait_idle(60)
    assert "Verbatim" in public(slack)[1].text


def test_a_post_the_platform_refuses_is_followed_privately_by_an_error_with_a_logged_ref(delivery, slack, caplog):
    slack.clear()
    refused, _ = posters(slack, token="xoxp-not-a-bot-token")  # the stand-in answers not_authed
    _, to_asker = posters(slack)
    with caplog.at_level(logging.ERROR):
        delivery.submit(ask(COX), refused, to_asker)
        assert delivery.wait_idle(60)
    [error] = private(slack)
    ref = re.search(r"Something went wrong \(ref ([0-9A-F]+)\)", error.text).group(1)
    [record] = [r for r in caplog.records if ref in r.getMessage()]
    assert record.exc_info and "not_authed" in str(record.exc_info[1])
    assert public(slack) == []


@pytest.mark.parametrize("public", [False, True])
def test_on_discord_past_its_budget_the_asker_is_told_once_and_privately(held, settings, tmp_path, public):
    """The same flow behind Discord's endpoint: a signed interaction, deferred, then told once. A
    private deferral is edited to the notice; a public one is deleted and the notice is an
    ephemeral follow-up, so the channel sees neither the notice nor the late answer."""
    from discord_api_stub import DiscordAPIStub, serve_asgi
    from nacl.signing import SigningKey
    from starlette.applications import Starlette
    from test_discord_http import APP_ID, Env, command, send

    from bot.discord_app import DiscordEndpoint

    key = SigningKey.generate()
    with DiscordAPIStub() as api:
        discord_settings = replace(settings, index_dir=tmp_path, discord_application_id=APP_ID,
                                   discord_public_key=key.verify_key.encode().hex(), discord_api_url=api.base_url)
        bindings = Bindings.in_folder(tmp_path)
        endpoint = DiscordEndpoint(held, discord_settings, bindings, reply_within=0, answer_budget_s=0.2)
        held.hold.set()
        try:
            with serve_asgi(Starlette(routes=[endpoint.route()])) as url:
                payload = command("ask", question=COX, **({"public": True} if public else {}))
                response = send(Env(url, api, key, held, bindings, discord_settings), payload)
                assert response.json() == {"type": 5, "data": {} if public else {"flags": 64}}
                token = payload["token"]
                [told] = api.wait_for(lambda r: (r.is_followup if public else r.is_edit) and r.token == token)
                assert "took longer than" in told.body["content"] and told.problems == []
                held.gate.set()
                assert endpoint.delivery.wait_idle(60)
        finally:
            held.gate.set()
            endpoint.close()
        edits = api.edits(token)
        if public:  # deleted, then told privately; the late answer was dropped, not edited in
            assert told.ephemeral and edits == [] and api.channel_sees(token) == []
            assert [r.method for r in api.requests if r.token == token] == ["DELETE", "POST"]
        else:
            assert edits == [told]  # the late answer was dropped, not edited in
