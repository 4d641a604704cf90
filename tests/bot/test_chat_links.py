"""/story add and /story follow through signed Slack and Discord requests into the real server,
which fetches from a real loopback site and writes a real index; then a question is answered
from the story just added, with a link to its URL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from discord_api_stub import DiscordAPIStub, serve_asgi
from nacl.signing import SigningKey
from site_stub import Route, article
from slack_api_stub import SlackAPIStub
from test_discord_http import APP_ID, Env, interact
from test_slack_http import BOT_TOKEN, SECRET, at, no_problems, slash

from bot.answer import Desk
from bot.bindings import Bindings
from bot.discord_app import STORY_COMMAND
from bot.follows import Follows
from bot.server import create_http_app
from bot.settings import Settings
from index.search import Searcher
from index.store import Store

BRIDGE = ["Hammersmith Bridge will reopen to cyclists on 3 March after a £12 million repair, the council said.",
          "Engineer Priya Nair said the cast-iron pedestals had been stabilised with a new steel frame."]
FERRY = ["A new river ferry will link Putney and Fulham from April, carrying 80 passengers a trip.",
         "Tickets will cost £2.50, Transport for London confirmed."]


@pytest.fixture(scope="module")
def chat(site, bundled_index, embedder, tmp_path_factory) -> Iterator[tuple[str, SlackAPIStub, Env, Any]]:
    site.routes.update({
        "/chat/bridge.html": Route(article("Hammersmith Bridge to reopen to cyclists", BRIDGE, byline="Sam Ode")),
        "/chat/ferry.html": Route(article("River ferry to link Putney and Fulham", FERRY)),
        "/chat/plan.pdf": Route(b"%PDF-1.4", content_type="application/pdf"),
        "/chat/river.rss": Route(b"<?xml version='1.0'?><rss version='2.0'><channel><title>River news</title>"
                                 b"<item><link>/chat/ferry.html</link></item></channel></rss>",
                                 content_type="application/rss+xml"),
    })
    folder = tmp_path_factory.mktemp("chat-links") / "index"
    shutil.copytree(bundled_index, folder)
    searcher = Searcher(Store.open(folder), embedder)
    searcher.state()
    desk = Desk(searcher)
    key = SigningKey.generate()
    with SlackAPIStub() as slack, DiscordAPIStub() as discord:
        settings = Settings(index_dir=folder, slack_bot_token=BOT_TOKEN, slack_signing_secret=SECRET,
                            slack_api_url=slack.api_url, discord_application_id=APP_ID,
                            discord_public_key=key.verify_key.encode().hex(), discord_bot_token="test-bot-token",
                            discord_api_url=discord.base_url, fetch_allow_hosts=frozenset({"127.0.0.1"}))
        bindings = Bindings.in_folder(folder)
        app = create_http_app(desk, settings, bindings)
        with serve_asgi(app) as url:
            yield url, slack, Env(url, discord, key, desk, bindings, settings, app), app.state.slack
        app.state.slack.close()


def test_slack_add_replies_privately_then_the_story_answers_with_its_link(chat, site):
    url, slack, _, surface = chat
    slack.clear()
    link = site.url("/chat/bridge.html")
    assert slash(url, slack, f"add <{link}>").status_code == 200  # Slack wraps a pasted link in <...>
    [reply] = slack.wait_for(at("cmd"), timeout=120)
    assert reply.body["response_type"] == "ephemeral"
    assert "Added “Hammersmith Bridge to reopen to cyclists” as `bridge` (2 paragraphs)" in reply.text
    slash(url, slack, "add " + link, response="again")
    [again] = slack.wait_for(at("again"), timeout=120)
    assert "already on the desk as `bridge`" in again.text
    slash(url, slack, "When will Hammersmith Bridge reopen to cyclists?", response="ask")
    [answer] = slack.wait_for(at("ask"), timeout=120)
    assert "3 March" in answer.text and link in answer.text
    no_problems(slack)
    assert surface.wait_idle(60)


def test_slack_refusals_are_private_and_add_nothing(chat, site):
    url, slack, env, surface = chat
    slack.clear()
    generation = env.desk.searcher.store.generation()
    slash(url, slack, "add " + site.url("/chat/plan.pdf"), response="pdf")
    [pdf] = slack.wait_for(at("pdf"), timeout=120)
    assert pdf.body["response_type"] == "ephemeral"
    assert "Could not add" in pdf.text and "application/pdf, not an HTML page" in pdf.text
    slash(url, slack, "add http://169.254.169.254/latest/meta-data/", response="ssrf")
    [ssrf] = slack.wait_for(at("ssrf"), timeout=120)
    assert "private or local network address" in ssrf.text
    surface.commands.admins = frozenset({"U0EDITOR"})
    try:
        slash(url, slack, "add " + site.url("/chat/ferry.html"), response="admin")
        [denied] = slack.wait_for(at("admin"), timeout=120)
        assert "Only" in denied.text and "/story add" in denied.text
    finally:
        surface.commands.admins = frozenset()
    assert env.desk.searcher.store.generation() == generation
    assert surface.wait_idle(60)


def test_slack_follow_records_the_feed(chat, site):
    url, slack, env, surface = chat
    slack.clear()
    slash(url, slack, "follow " + site.url("/chat/river.rss"), response="follow")
    [reply] = slack.wait_for(at("follow"), timeout=120)
    assert reply.body["response_type"] == "ephemeral"
    assert "Following “River news” (1 article now)" in reply.text
    assert site.url("/chat/river.rss") in [f.url for f in Follows.in_folder(env.settings.index_dir).list()]
    assert surface.wait_idle(60)


def test_discord_registers_add_and_follow_with_a_url_option():
    subs = {o["name"]: o for o in STORY_COMMAND["options"]}
    for name in ("add", "follow"):
        assert [(o["name"], o.get("required")) for o in subs[name]["options"]] == [("url", True)]


def test_discord_add_and_follow_reply_privately(chat, site):
    env = chat[2]
    added = interact(env, "add", url=site.url("/chat/ferry.html"))
    assert added.ephemeral and "Added “River ferry to link Putney and Fulham” as `ferry`" in added.message["content"]
    followed = interact(env, "follow", url=site.url("/chat/river.rss"))
    assert followed.ephemeral and "River news" in followed.message["content"]
    refused = interact(env, "add", url="ftp://example.org/story.html")
    assert refused.ephemeral and "only http:// and https://" in refused.message["content"]


def test_discord_members_who_cannot_manage_the_channel_cannot_add(chat, site):
    env = chat[2]
    generation = env.desk.searcher.store.generation()
    denied = interact(env, "add", url=site.url("/chat/bridge.html"), permissions="0")
    assert denied.ephemeral and "manage this channel" in denied.message["content"]
    assert env.desk.searcher.store.generation() == generation
