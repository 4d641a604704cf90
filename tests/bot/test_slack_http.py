"""End to end over loopback: the real HTTP app in uvicorn, driven exactly the way Slack drives it.

Slack's side is :mod:`slack_api_stub`: requests are signed with a test signing secret, slash commands
and interactions are form-encoded with a ``response_url`` on the stub, events are JSON, and the app's
``WebClient`` posts to the stub (``SLACK_API_URL``). Assertions are on what was posted. Waits are
bounded waits on conditions (the stub's ``wait_for``, the app's ``wait_idle``), never sleeps.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import time
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from slack_api_stub import BOT_USER_ID, TEAM_ID, SlackAPIStub, running, signed_headers
from slack_bolt import BoltRequest

from bot import render_slack as render
from bot.bindings import Bindings
from bot.server import create_http_app
from bot.slack_app import build_surface

SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-0000-test-token-never-logged"
STORY = "met-police-safer-schools-officers"
CHANNEL = "C0NEWSROOM"
REPORTER = "U0REPORTER"
COX = "What did Matt Cox tell the Assembly?"
COX_WORDS = "This is about embedding the 371 school officers"
CATASTROPHIC = "Who called the decision catastrophic?"

_ids = itertools.count(1)


class FlakyDesk:
    """The real desk, whose ``ask`` can be made to fail like a broken index would."""

    def __init__(self, desk: Any) -> None:
        self.desk = desk
        self.fail = False

    def ask(self, *args: Any, **kwargs: Any):
        if self.fail:
            raise RuntimeError("search index exploded")
        return self.desk.ask(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.desk, name)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def slack():
    with SlackAPIStub() as stub:
        yield stub


@pytest.fixture(scope="module")
def flaky_desk(desk) -> FlakyDesk:
    return FlakyDesk(desk)


@pytest.fixture(scope="module")
def slack_settings(settings, slack):
    return replace(settings, slack_bot_token=BOT_TOKEN, slack_signing_secret=SECRET, slack_api_url=slack.api_url)


@pytest.fixture(scope="module")
def bindings(tmp_path_factory) -> Bindings:
    return Bindings.in_folder(tmp_path_factory.mktemp("bindings"))  # the bundled index is read-only


@pytest.fixture(scope="module")
def server(flaky_desk, slack_settings, bindings):
    app = create_http_app(flaky_desk, slack_settings, bindings)
    with running(app) as url:
        yield url, app.state.slack
    app.state.slack.close()


@pytest.fixture()
def base_url(server, slack, flaky_desk):
    """The server's URL, with a clean stub before and every answer delivered after each test."""
    url, surface = server
    slack.clear()
    flaky_desk.fail = False
    yield url
    assert surface.wait_idle(60), "answers still running after the test"
    flaky_desk.fail = False


@pytest.fixture()
def surface(server):
    return server[1]


# --------------------------------------------------------------------------- Slack's requests


def send(base_url: str, body: str, content_type: str, *, timestamp: int | None = None, secret: str = SECRET,
         extra: dict[str, str] | None = None) -> httpx.Response:
    headers = signed_headers(secret, body, content_type=content_type, timestamp=timestamp)
    headers.update(extra or {})
    return httpx.post(f"{base_url}/slack/events", content=body.encode(), headers=headers, timeout=30)


def command_body(slack: SlackAPIStub, text: str, *, channel: str = CHANNEL, response: str = "cmd") -> str:
    return urlencode({
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "newsroom",
        "channel_id": channel,
        "channel_name": "newsroom",
        "user_id": REPORTER,
        "user_name": "reporter",
        "command": "/story",
        "text": text,
        "api_app_id": "A0STORYDESK",
        "is_enterprise_install": "false",
        "response_url": slack.response_url(response),
        "trigger_id": f"{next(_ids)}.trigger",
    })


def slash(base_url: str, slack: SlackAPIStub, text: str, **kw: Any) -> httpx.Response:
    return send(base_url, command_body(slack, text, **kw), "application/x-www-form-urlencoded")


def event_body(event: dict[str, Any], event_id: str) -> str:
    return json.dumps({
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": "A0STORYDESK",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
    })


def new_ts() -> str:
    return f"1712345678.{next(_ids):06d}"


def mention(text: str, *, ts: str, thread_ts: str | None = None, channel: str = CHANNEL) -> dict[str, Any]:
    event = {"type": "app_mention", "user": REPORTER, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts,
             "channel": channel, "event_ts": ts}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def action(base_url: str, slack: SlackAPIStub, button: dict[str, Any], *, ephemeral: bool, response: str,
           thread_ts: str | None = None) -> httpx.Response:
    container = {"type": "message", "message_ts": new_ts(), "channel_id": CHANNEL, "is_ephemeral": ephemeral}
    if thread_ts:
        container["thread_ts"] = thread_ts
    payload = {
        "type": "block_actions",
        "user": {"id": REPORTER, "username": "reporter", "team_id": TEAM_ID},
        "api_app_id": "A0STORYDESK",
        "token": "legacy-verification-token",
        "container": container,
        "trigger_id": f"{next(_ids)}.trigger",
        "team": {"id": TEAM_ID, "domain": "newsroom"},
        "channel": {"id": CHANNEL, "name": "newsroom"},
        "response_url": slack.response_url(response),
        "actions": [{
            "action_id": button["action_id"], "block_id": "b1", "value": button["value"], "type": "button",
            "text": button["text"], "action_ts": str(time.time()),
        }],
    }
    return send(base_url, urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")


def at(name: str):
    return lambda r: r.method == "response_url" and r.path.endswith("/" + name)


def no_problems(slack: SlackAPIStub) -> None:
    assert [r.problems for r in slack.messages() if r.problems] == []


# --------------------------------------------------------------------------- slash commands


def test_story_question_is_acked_then_answered_privately_with_the_excerpt(base_url, slack):
    response = slash(base_url, slack, COX)
    assert response.status_code == 200 and response.text == ""  # the ack: nothing visible, at once
    [reply] = slack.wait_for(at("cmd"))
    assert reply.body["response_type"] == "ephemeral"
    assert COX_WORDS in reply.text and "¶16" in reply.text
    assert render.SHARE_ACTION in reply.buttons
    no_problems(slack)


def test_speaker_is_shown_when_the_desk_knows_it(base_url, slack, desk):
    slash(base_url, slack, CATASTROPHIC)
    [reply] = slack.wait_for(at("cmd"))
    assert "*Jessica West*" in reply.text and "single most catastrophic decision" in reply.text


def test_share_in_channel_posts_the_same_answer_visibly(base_url, slack):
    slash(base_url, slack, COX)
    [private] = slack.wait_for(at("cmd"))
    response = action(base_url, slack, private.buttons[render.SHARE_ACTION], ephemeral=True, response="share")
    assert response.status_code == 200
    shared, deleted = slack.wait_for(at("share"), count=2)
    assert shared.body["response_type"] == "in_channel" and shared.body["replace_original"] is False
    assert COX_WORDS in shared.text and f"Shared by <@{REPORTER}>" in shared.text
    assert render.SHARE_ACTION not in shared.buttons
    assert deleted.body.get("delete_original") is True
    no_problems(slack)


def test_more_reveals_further_hits_in_place(base_url, slack):
    slash(base_url, slack, COX)
    [private] = slack.wait_for(at("cmd"))
    more = private.buttons[render.MORE_ACTION]
    action(base_url, slack, more, ephemeral=True, response="more")
    [expanded] = slack.wait_for(at("more"))
    assert expanded.body["replace_original"] is True
    assert expanded.text.count("¶") > private.text.count("¶") and COX_WORDS in expanded.text
    assert render.MORE_ACTION not in expanded.buttons


UP, DOWN = render.FEEDBACK_ACTION_PREFIX + "up", render.FEEDBACK_ACTION_PREFIX + "down"


def test_feedback_votes_ask_what_was_wrong_and_a_second_click_changes_the_vote(base_url, slack, surface):
    slash(base_url, slack, COX)
    [answer] = slack.wait_for(at("cmd"))
    assert {UP, DOWN} <= set(answer.buttons)
    action(base_url, slack, answer.buttons[DOWN], ephemeral=True, response="down")
    [prompt] = slack.wait_for(at("down"))
    assert prompt.body["response_type"] == "ephemeral" and prompt.body["replace_original"] is False
    assert "What was wrong" in prompt.text
    reasons = {k.removeprefix(render.FEEDBACK_ACTION_PREFIX): b for k, b in prompt.buttons.items()}
    assert set(reasons) == {"wrong_passage", "wrong_speaker", "doesnt_say", "other"}
    action(base_url, slack, reasons["wrong_passage"], ephemeral=True, response="reason")
    [thanks] = slack.wait_for(at("reason"))
    assert thanks.body["replace_original"] is True and "Wrong passage" in thanks.text
    assert surface.wait_idle(30)
    [vote] = surface.commands.feedback.votes()[-1:]
    assert (vote.question, vote.choice, vote.surface) == (COX, "wrong_passage", "slack")
    assert COX_WORDS in vote.shown[0].excerpt and REPORTER not in vote.user_hash

    action(base_url, slack, answer.buttons[UP], ephemeral=True, response="up")  # changes the vote
    [changed] = slack.wait_for(at("up"))
    assert "👍" in changed.text and changed.body["response_type"] == "ephemeral"
    assert surface.wait_idle(30)
    votes = [v for v in surface.commands.feedback.votes() if v.answer_id == vote.answer_id]
    assert [v.choice for v in votes] == ["up"]
    no_problems(slack)


def test_forged_and_stale_feedback_buttons_get_a_private_notice(base_url, slack, surface):
    before = len(surface.commands.feedback.votes())
    forged = {"action_id": UP, "value": "up not-an-answer-we-made", "text": {"type": "plain_text", "text": "x"}}
    action(base_url, slack, forged, ephemeral=False, response="stale")
    [stale] = slack.wait_for(at("stale"))
    assert stale.body["response_type"] == "ephemeral" and "no longer has that answer" in stale.text
    for i, value in enumerate(["sideways abc", "", "up", "x" * 3000]):
        action(base_url, slack, dict(forged, value=value), ephemeral=False, response=f"forged{i}")
        [reply] = slack.wait_for(at(f"forged{i}"))
        assert reply.body["response_type"] == "ephemeral" and "no longer works" in reply.text
    assert surface.wait_idle(30)
    assert len(surface.commands.feedback.votes()) == before
    assert not [r for r in slack.messages() if r.body.get("response_type") == "in_channel"]


def test_question_text_cannot_ping_the_channel(base_url, slack):
    slash(base_url, slack, "<!channel> <@U0BOSS> what did <http://evil.test|Matt Cox> tell the Assembly?")
    [reply] = slack.wait_for(at("cmd"))
    assert "&lt;!channel&gt;" in reply.text
    for raw in ("<!channel>", "<@U0BOSS>", "<http://evil.test|"):
        assert raw not in reply.text


def test_a_4000_character_question_gets_a_polite_error(base_url, slack):
    slash(base_url, slack, "Why " + "very " * 799 + "long?")
    [reply] = slack.wait_for(at("cmd"))
    assert "1,000" in reply.text and "Something went wrong" not in reply.text
    no_problems(slack)


def test_a_failing_search_says_so_with_a_ref_that_is_in_the_log(base_url, slack, flaky_desk, surface, caplog):
    flaky_desk.fail = True
    with caplog.at_level(logging.INFO):
        slash(base_url, slack, COX)
        [reply] = slack.wait_for(at("cmd"))
        assert surface.wait_idle(30)
    ref = re.search(r"Something went wrong \(ref ([0-9A-F]+)\)", reply.text).group(1)
    [record] = [r for r in caplog.records if ref in r.getMessage()]
    assert record.exc_info and "search index exploded" in str(record.exc_info[1])
    assert BOT_TOKEN not in caplog.text


@pytest.mark.parametrize("text", ["", "help"])
def test_usage(base_url, slack, text):
    slash(base_url, slack, text)
    [reply] = slack.wait_for(at("cmd"))
    assert "/story quotes" in reply.text and "/story use" in reply.text


def test_stories_and_use_bind_the_channel_persistently(base_url, slack, bindings):
    slash(base_url, slack, "stories", channel="C0BINDING")
    [listing] = slack.wait_for(at("cmd"))
    assert STORY in listing.text and "Headteacher slams" in listing.text

    slash(base_url, slack, f"use {STORY}", channel="C0BINDING", response="use")
    [bound] = slack.wait_for(at("use"))
    assert "now searches only" in bound.text
    assert Bindings(bindings.path).channel_story("slack:C0BINDING") == STORY  # on disk, for any process

    slash(base_url, slack, COX, channel="C0BINDING", response="ask")
    [answer] = slack.wait_for(at("ask"))
    assert f"story `{STORY}`" in answer.text and COX_WORDS in answer.text

    slash(base_url, slack, "use no-such-story", channel="C0BINDING", response="bad")
    [bad] = slack.wait_for(at("bad"))
    assert "no story" in bad.text
    slash(base_url, slack, "use all", channel="C0BINDING", response="all")
    slack.wait_for(at("all"))
    assert bindings.channel_story("slack:C0BINDING") is None


def test_only_admins_rebind_a_channel_when_admins_are_configured(base_url, slack, bindings, surface):
    surface.admins = frozenset({"U0EDITOR"})
    try:
        slash(base_url, slack, f"use {STORY}", channel="C0LOCKED", response="denied")
        [denied] = slack.wait_for(at("denied"))
        assert "admins" in denied.text
        assert bindings.channel_story("slack:C0LOCKED") is None
    finally:
        surface.admins = frozenset()
    slash(base_url, slack, f"use {STORY}", channel="C0LOCKED", response="open")
    slack.wait_for(at("open"))
    assert bindings.channel_story("slack:C0LOCKED") == STORY
    slash(base_url, slack, "use all", channel="C0LOCKED", response="reset")
    slack.wait_for(at("reset"))


def test_quotes_and_check(base_url, slack, desk):
    slash(base_url, slack, "quotes West", response="quotes")
    slash(base_url, slack, 'check "the single most catastrophic decision"', response="check")
    [quotes] = slack.wait_for(at("quotes"))
    [check] = slack.wait_for(at("check"))
    for reply in (quotes, check):
        assert "Something went wrong" not in reply.text
    no_problems(slack)
    assert "*Jessica West*" in quotes.text and "single most catastrophic decision" in quotes.text
    assert "Verbatim" in check.text and "¶9" in check.text


# --------------------------------------------------------------------------- events


def test_mention_is_answered_in_a_new_thread_and_the_thread_keeps_its_story(base_url, slack, bindings):
    ts = new_ts()
    response = send(base_url, event_body(mention(COX, ts=ts), f"Ev{next(_ids)}"), "application/json")
    assert response.status_code == 200
    [post] = slack.wait_for(lambda r: r.method == "chat.postMessage")
    assert post.body["channel"] == CHANNEL and post.body["thread_ts"] == ts
    assert COX_WORDS in post.text and render.SHARE_ACTION not in post.buttons
    assert bindings.thread_story(f"slack:{CHANNEL}:{ts}") == STORY


def test_mention_inside_a_thread_replies_in_that_thread(base_url, slack):
    parent, ts = new_ts(), new_ts()
    send(base_url, event_body(mention(CATASTROPHIC, ts=ts, thread_ts=parent), f"Ev{next(_ids)}"), "application/json")
    [post] = slack.wait_for(lambda r: r.method == "chat.postMessage")
    assert post.body["thread_ts"] == parent and "catastrophic" in post.text


def test_direct_message_is_answered_in_the_dm(base_url, slack):
    ts = new_ts()
    event = {"type": "message", "channel_type": "im", "channel": "D0REPORTER", "user": REPORTER, "text": COX, "ts": ts}
    send(base_url, event_body(event, f"Ev{next(_ids)}"), "application/json")
    [post] = slack.wait_for(lambda r: r.method == "chat.postMessage")
    assert post.body["channel"] == "D0REPORTER" and "thread_ts" not in post.body and COX_WORDS in post.text


def test_a_retried_event_and_a_mention_twin_are_answered_once(base_url, slack, surface):
    ts = new_ts()
    body = event_body(mention(COX, ts=ts), "EvRETRY1")
    assert send(base_url, body, "application/json").status_code == 200
    retry = send(base_url, body, "application/json",
                 extra={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status_code == 200
    # The same post as a message event (channels:history subscribed): a different event_id, same ts.
    twin = {"type": "message", "channel_type": "channel", "channel": CHANNEL, "user": REPORTER,
            "text": f"<@{BOT_USER_ID}> {COX}", "ts": ts}
    send(base_url, event_body(twin, "EvTWIN1"), "application/json")
    assert surface.wait_idle(60)
    assert len(slack.messages(lambda r: r.method == "chat.postMessage")) == 1


def test_bots_edits_and_our_own_messages_are_ignored(base_url, slack, surface):
    events = [
        {"type": "message", "channel_type": "im", "channel": "D0X", "bot_id": "B0OTHER", "text": COX, "ts": new_ts()},
        {"type": "message", "channel_type": "im", "channel": "D0X", "user": BOT_USER_ID, "text": COX, "ts": new_ts()},
        {"type": "message", "subtype": "message_changed", "channel_type": "im", "channel": "D0X", "ts": new_ts(),
         "message": {"user": REPORTER, "text": COX, "ts": new_ts()}},
    ]
    for event in events:
        assert send(base_url, event_body(event, f"Ev{next(_ids)}"), "application/json").status_code == 200
    assert surface.wait_idle(60)
    assert slack.messages() == []


def test_rate_limited_posts_are_retried_after_retry_after(base_url, slack):
    slack.rate_limit.append("chat.postMessage")
    send(base_url, event_body(mention(COX, ts=new_ts()), f"Ev{next(_ids)}"), "application/json")
    [post] = slack.wait_for(lambda r: r.method == "chat.postMessage")
    assert slack.rate_limited == ["chat.postMessage"] and COX_WORDS in post.text


def test_a_rate_limited_response_url_is_retried_after_retry_after(base_url, slack):
    slack.rate_limit.append("response_url")
    slash(base_url, slack, COX, response="limited")
    [reply] = slack.wait_for(at("limited"))
    assert slack.rate_limited == ["response_url"] and COX_WORDS in reply.text


# --------------------------------------------------------------------------- security


def test_forged_and_stale_requests_get_401_and_post_nothing(base_url, slack, surface):
    body = command_body(slack, COX)
    form = "application/x-www-form-urlencoded"
    assert send(base_url, body, form, secret="not-the-secret").status_code == 401
    assert send(base_url, body, form, timestamp=int(time.time()) - 6 * 60).status_code == 401
    unsigned = httpx.post(f"{base_url}/slack/events", content=body, headers={"Content-Type": form}, timeout=30)
    assert unsigned.status_code == 401
    tampered = signed_headers(SECRET, body, content_type=form)
    assert httpx.post(f"{base_url}/slack/events", content=body + "x", headers=tampered, timeout=30).status_code == 401
    assert surface.wait_idle(30)
    assert slack.messages() == []


def test_url_verification_and_health(base_url):
    body = json.dumps({"token": "t", "challenge": "abc123", "type": "url_verification"})
    response = send(base_url, body, "application/json")
    assert response.status_code == 200 and response.json() == {"challenge": "abc123"}
    health = httpx.get(f"{base_url}/healthz", timeout=30)
    assert health.status_code == 200 and health.json()["ready"] is True and health.json()["stories"] == 1


# --------------------------------------------------------------------------- Socket Mode


def test_socket_mode_requests_reach_the_same_listeners(flaky_desk, slack_settings, slack, tmp_path):
    """Socket Mode delivers the same payloads over a WebSocket; bolt dispatches them identically."""
    slack.clear()
    surface = build_surface(flaky_desk, replace(slack_settings, slack_signing_secret=""), Bindings.in_folder(tmp_path))
    try:
        command = dict(parse_qsl(command_body(slack, COX, response="socket")))
        response = surface.app.dispatch(BoltRequest(body=command, mode="socket_mode"))
        assert response.status == 200
        [reply] = slack.wait_for(at("socket"))
        assert COX_WORDS in reply.text

        ts = new_ts()
        event = json.loads(event_body(mention(CATASTROPHIC, ts=ts), "EvSOCKET1"))
        assert surface.app.dispatch(BoltRequest(body=event, mode="socket_mode")).status == 200
        assert surface.app.dispatch(BoltRequest(body=event, mode="socket_mode")).status == 200  # redelivered
        [post] = slack.wait_for(lambda r: r.method == "chat.postMessage")
        assert post.body["thread_ts"] == ts and "catastrophic" in post.text
        assert surface.wait_idle(60)
        assert len(slack.messages(lambda r: r.method == "chat.postMessage")) == 1
    finally:
        surface.close()


# --------------------------------------------------------------------------- the manifest


def test_manifest_declares_what_the_app_listens_for():
    from pathlib import Path

    import yaml  # a declared dependency (Markdown front matter)

    manifest = yaml.safe_load((Path(__file__).resolve().parents[2] / "slack" / "manifest.yml").read_text())
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/story" and command["url"].endswith("/slack/events")
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im"}
    assert settings["interactivity"]["is_enabled"] is True
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "chat:write", "commands", "im:history"} <= scopes


# --------------------------------------------------------------------------- small parts


def test_tokens_are_redacted_from_log_records():
    from bot.slack_app import RedactSecrets

    record = logging.LogRecord("slack_bolt", logging.INFO, __file__, 1, "body: %s %s",
                               ("token=legacy123&text=hi", f"Bearer {BOT_TOKEN} xapp-1-A0-123"), None)
    RedactSecrets().filter(record)
    message = record.getMessage()
    assert "legacy123" not in message and BOT_TOKEN not in message and "xapp-1" not in message
    assert "text=hi" in message


def test_bindings_resolve_thread_then_channel_and_persist(tmp_path):
    bindings = Bindings.in_folder(tmp_path / "index")
    assert bindings.story_for("slack:C1") is None  # no file yet: every story
    bindings.bind("slack:C1", "story-a")
    bindings.remember_thread("slack:C1:1.0", "story-b")
    again = Bindings.in_folder(tmp_path / "index")  # another process sees the same file
    assert again.story_for("slack:C1") == "story-a"
    assert again.story_for("slack:C1", "slack:C1:1.0") == "story-b"
    assert again.story_for("slack:C1", "slack:C1:2.0") == "story-a"
    again.bind("slack:C1", None)
    assert bindings.channel_story("slack:C1") is None
    assert sorted(p.name for p in (tmp_path / "index").iterdir()) == ["bindings.json", "bindings.json.lock"]


def test_parse_command():
    from bot.commands import Command, parse_command
    from bot.slack_app import from_slack

    assert parse_command("") == Command("help")
    assert parse_command("stories") == Command("stories")
    assert parse_command(f"use {STORY}") == Command("use", STORY)
    assert parse_command("use of force by officers?") == Command("ask", "use of force by officers?")
    assert parse_command("quotes from West") == Command("quotes", "West")
    assert parse_command("check “a perfect storm”") == Command("check", "a perfect storm")
    assert from_slack(f"<@{BOT_USER_ID}> a &lt;b&gt; &amp;amp;", BOT_USER_ID) == "a <b> &amp;"
    assert from_slack(f"<@{BOT_USER_ID}|storydesk> who?", BOT_USER_ID) == "who?"
    # Unclosed mentions (a forged body, up to the 1 MB limit) are text, read in one pass: the
    # removal once scanned to the end of the text from each of them, minutes of held GIL per MB.
    unclosed = f"<@{BOT_USER_ID}|" * 20_000
    assert from_slack(unclosed, BOT_USER_ID) == unclosed
