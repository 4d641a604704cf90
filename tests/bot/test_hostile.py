"""Careless and hostile input against the real server (issue #11): each numbered defect has a
``test_defectNN_...`` here or in ``tests/test_cli.py``, plus a bounded hostile-load test.

One uvicorn server on 127.0.0.1 serves Slack and Discord over a writable copy of the bundled
index, to which three small stories are added: one with a non-ASCII id and two that tests remove.
Slack's and Discord's sides are the stand-ins in this folder. The desk is the real one, wrapped
only so that a test can hold a quote check at a gate (to show that checks never delay questions).
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import itertools
import json
import logging
import random
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import psutil
import pytest
from discord_api_stub import DiscordAPIStub
from nacl.signing import SigningKey
from slack_api_stub import BOT_USER_ID, TEAM_ID, SlackAPIStub, free_port, running, signed_headers

from bot import render_slack as render
from bot.answer import Desk
from bot.bindings import Bindings
from bot.server import create_http_app, server_config
from bot.slack_app import build_surface
from index.indexer import ingest
from index.ingest import load_story
from index.search import Searcher
from index.store import Store

SECRET = "hostile-test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-0000-hostile-test-token"
APP_ID = "1200000000000000009"
REPORTER = "U0REPORTER"
FORM = "application/x-www-form-urlencoded"
COX = "What did Matt Cox tell the Assembly?"
COX_WORDS = "This is about embedding the 371 school officers"
CAFE = "café-rue-été"
CAFE_TEXT = """Bakery wins city prize

The Rue Été bakery won the city's best bread prize on Saturday, judges said.

Owner Amélie Durand said: "We bake every loaf by hand before dawn."
"""
REMOVABLE = {
    "remove-me-4": "Harbour wall repaired\n\nThe harbour wall was repaired in March after the winter storms.\n",
    "remove-me-5": "Orchard reopens\n\nThe community orchard reopened in May with forty new apple trees.\n",
    "remove-me-d": "Library extends hours\n\nThe central library will stay open until nine on weekdays.\n",
}

_ids = itertools.count(1)


class GatedDesk:
    """The real desk; ``check`` waits at a gate while ``hold`` is set (to show a check never
    delays a question). Everything else is the real desk's."""

    def __init__(self, real: Desk) -> None:
        self.real = real
        self.hold = threading.Event()
        self.gate = threading.Event()
        self.checking = threading.Event()

    def check(self, *args: Any, **kwargs: Any) -> Any:
        if self.hold.is_set():
            self.checking.set()
            self.gate.wait(120)
        return self.real.check(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory, bundled_index, embedder) -> Path:
    """A writable copy of the bundled index plus the café story and the removable ones."""
    root = tmp_path_factory.mktemp("hostile") / "index"
    shutil.copytree(bundled_index, root)
    src = root.parent / "src"
    src.mkdir()
    stories = []
    for sid, text in {CAFE: CAFE_TEXT, **REMOVABLE}.items():
        (src / f"{sid}.txt").write_text(text, encoding="utf-8")
        stories.append(load_story(src / f"{sid}.txt"))
    ingest(Store.open(root), embedder, stories)
    return root


@pytest.fixture(scope="module")
def gated(index_dir, embedder) -> GatedDesk:
    searcher = Searcher(Store.open(index_dir), embedder)
    searcher.state()
    return GatedDesk(Desk(searcher))


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackAPIStub]:
    with SlackAPIStub() as stub:
        yield stub


@pytest.fixture(scope="module")
def discord_api() -> Iterator[DiscordAPIStub]:
    with DiscordAPIStub() as stub:
        yield stub


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="module")
def hostile_settings(settings, index_dir, slack, discord_api, key):
    return replace(settings, index_dir=index_dir, slack_bot_token=BOT_TOKEN, slack_signing_secret=SECRET,
                   slack_api_url=slack.api_url, discord_application_id=APP_ID,
                   discord_public_key=key.verify_key.encode().hex(), discord_api_url=discord_api.base_url)


@pytest.fixture(scope="module")
def bindings(index_dir) -> Bindings:
    return Bindings.in_folder(index_dir)


@pytest.fixture(scope="module")
def server(gated, hostile_settings, bindings):
    app = create_http_app(gated, hostile_settings, bindings)
    with running(app) as url:
        yield url, app.state.slack
    app.state.slack.close()


@pytest.fixture()
def url(server, slack, discord_api, gated) -> Iterator[str]:
    base, surface = server
    slack.clear()
    yield base
    gated.gate.set()
    gated.hold.clear()
    assert surface.wait_idle(120), "answers still running after the test"
    gated.gate.clear()
    gated.checking.clear()


@pytest.fixture()
def logs(caplog) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing logged with a traceback, and nothing at ERROR or above."""
    bad = [(r.name, r.levelname, r.getMessage()[:120]) for r in caplog.records
           if r.exc_info or r.levelno >= logging.ERROR]
    assert bad == []


# --------------------------------------------------------------------------- Slack's side


def sign(body: bytes, *, timestamp: str | None = None, secret: str = SECRET,
         content_type: str = FORM) -> dict[str, str]:
    """Slack's signature over raw bytes (the stand-in's helper signs text)."""
    ts = str(int(time.time())) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def post(base: str, body: bytes, headers: dict[str, str], path: str = "/slack/events") -> httpx.Response:
    return httpx.post(base + path, content=body, headers=headers, timeout=60)


def command_body(slack: SlackAPIStub, text: str, *, channel: str = "C0HOSTILE", response: str = "cmd") -> str:
    return urlencode({
        "token": "legacy", "team_id": TEAM_ID, "team_domain": "newsroom", "channel_id": channel,
        "channel_name": "newsroom", "user_id": REPORTER, "user_name": "reporter", "command": "/story",
        "text": text, "api_app_id": "A0STORYDESK", "is_enterprise_install": "false",
        "response_url": slack.response_url(response), "trigger_id": f"{next(_ids)}.trigger",
    })


def slash(base: str, slack: SlackAPIStub, text: str, **kw: Any) -> httpx.Response:
    body = command_body(slack, text, **kw)
    return httpx.post(base + "/slack/events", content=body.encode(),
                      headers=signed_headers(SECRET, body, content_type=FORM), timeout=60)


def click(base: str, slack: SlackAPIStub, action_id: str, value: Any, *, response: str,
          ephemeral: bool = True, message_ts: str = "1.000001") -> httpx.Response:
    payload = {
        "type": "block_actions",
        "user": {"id": REPORTER, "username": "reporter", "team_id": TEAM_ID},
        "api_app_id": "A0STORYDESK", "token": "legacy",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": "C0HOSTILE",
                      "is_ephemeral": ephemeral},
        "trigger_id": f"{next(_ids)}.trigger",
        "team": {"id": TEAM_ID, "domain": "newsroom"},
        "channel": {"id": "C0HOSTILE", "name": "newsroom"},
        "response_url": slack.response_url(response),
        "actions": [{"action_id": action_id, "block_id": "b1", "value": value, "type": "button",
                     "text": {"type": "plain_text", "text": "Share"}, "action_ts": str(time.time())}],
    }
    body = urlencode({"payload": json.dumps(payload)})
    return httpx.post(base + "/slack/events", content=body.encode(),
                      headers=signed_headers(SECRET, body, content_type=FORM), timeout=60)


def at(name: str):
    return lambda r: r.method == "response_url" and r.path.endswith("/" + name)


def remove_story(index_dir: Path, embedder, story: str) -> None:
    Store.open(index_dir).write([], remove=[story], model=embedder.info)


# --------------------------------------------------------------------------- Discord's side


def discord_post(base: str, key: SigningKey, body: bytes, *, timestamp: str | None = None) -> httpx.Response:
    ts = str(int(time.time())) if timestamp is None else timestamp
    headers = {"Content-Type": "application/json", "X-Signature-Timestamp": ts,
               "X-Signature-Ed25519": key.sign(ts.encode() + body).signature.hex()}
    return httpx.post(base + "/discord/interactions", content=body, headers=headers, timeout=60)


def discord_command(sub: str, **options: Any) -> dict[str, Any]:
    return {
        "type": 2, "id": str(next(_ids)), "application_id": APP_ID, "token": f"tok-{next(_ids)}", "version": 1,
        "channel_id": "2200000000000000009",
        "member": {"user": {"id": "4400000000000000009"}, "permissions": "2147483647"},
        "data": {"id": "5500000000000000009", "name": "story", "type": 1, "options": [{
            "name": sub, "type": 1,
            "options": [{"name": k, "type": 3, "value": v} for k, v in options.items()],
        }]},
    }


def raw_post(base: str, path: str, body: bytes, *, length: int | None = None, content_type: str = FORM) -> int:
    """POST over a plain socket, the body sent as it is (no copy), with a Content-Length that
    may lie; the status code, or 0 when the server closed the connection without one."""
    host, port = base.removeprefix("http://").split(":")
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body) if length is None else length}\r\nConnection: close\r\n\r\n")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        try:
            sock.sendall(head.encode())
            sock.sendall(body)
        except OSError:  # refused early: the server stopped reading and closed
            pass
        try:
            line = sock.recv(4096).decode("latin-1").split("\r\n", 1)[0]
        except OSError:
            return 0
    return int(line.split()[1]) if line.startswith("HTTP/1.1 ") else 0


# --------------------------------------------------------------------------- the twelve defects


def test_defect01_unsigned_junk_gets_401_and_signed_junk_400_without_a_traceback(url, slack, logs):
    junk = [(b"payload=x", FORM), (b"{bad", "application/json"), (b"[1]", "application/json"),
            (b"\xff\xfe\xfa not utf-8", FORM), (b'{"type": "event_callback", "event": "x"}', "application/json"),
            (b"payload=" + b"[" * 5000, FORM)]
    for body, content_type in junk:
        assert post(url, body, {"Content-Type": content_type}).status_code == 401
        assert post(url, body, sign(body, content_type=content_type)).status_code == 400
    # Signed, well formed, but for nothing storydesk listens to: 400 and one short line.
    unknown = urlencode({"payload": json.dumps({"type": "block_actions", "actions": [{"action_id": "evil"}],
                                                "user": {"id": REPORTER}, "team": {"id": TEAM_ID},
                                                "response_url": "https://hooks.invalid/x"})}).encode()
    assert post(url, unknown, sign(unknown)).status_code == 400
    assert [r for r in logs.records if r.getMessage().startswith("Unhandled request")
            and ("\n" in r.getMessage() or len(r.getMessage()) > 200)] == []
    # A signed request whose timestamp is not a number is simply not signed right.
    assert post(url, b"payload=x", sign(b"payload=x", timestamp="abc")).status_code == 401
    no_tracebacks(logs)
    refusals = [r for r in logs.records if r.name.startswith("bot.") and "refused" in r.getMessage()]
    assert len(refusals) == len(junk)  # one line per malformed signed request
    assert slack.messages() == []


def test_defect02_bodies_over_the_limit_get_413_before_being_read(url, key, logs):
    # Content-Length says 100 MB: refused on the header alone, nothing more is read.
    assert raw_post(url, "/slack/events", b"payload=", length=100 * 1024 * 1024) == 413

    # No Content-Length (chunked): counted while streaming, refused past the limit.
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"x" * 1024 * 1024

    try:
        status = httpx.post(url + "/slack/events", content=chunks(), headers={"Content-Type": FORM},
                            timeout=60).status_code
    except httpx.HTTPError:  # the server may close the connection while the client still sends
        status = 413
    assert status == 413
    # Discord: a signed 10 MB body is refused all the same.
    big = json.dumps({"type": 2, "pad": "x" * 10_000_000}).encode()
    assert discord_post(url, key, big).status_code == 413
    no_tracebacks(logs)


def test_defect03_long_checks_are_refused_and_a_check_never_delays_a_question(url, slack, gated):
    slash(url, slack, 'check "' + "officers " * 1500 + '"', response="long")
    [refused] = slack.wait_for(at("long"))
    assert "60 words" in refused.text and refused.body["response_type"] == "ephemeral"

    gated.hold.set()  # the next check takes as long as the test wants
    slash(url, slack, f'check "{COX_WORDS}"', response="check")
    assert gated.checking.wait(60)
    slash(url, slack, COX, response="ask")
    [answer] = slack.wait_for(at("ask"))  # arrives while the check is still running
    assert COX_WORDS in answer.text and not slack.messages(at("check"))
    gated.gate.set()
    [check] = slack.wait_for(at("check"))
    assert "verbatim" in check.text.lower()


def test_defect04_share_after_the_story_is_removed_fails_privately_and_keeps_the_answer(
        url, slack, index_dir, embedder):
    story = "remove-me-4"
    slash(url, slack, f"use {story}", channel="C0SHARE", response="bind")
    slack.wait_for(at("bind"))
    slash(url, slack, "When was the harbour wall repaired?", channel="C0SHARE", response="ask")
    [private] = slack.wait_for(at("ask"))
    share = private.buttons[render.SHARE_ACTION]
    remove_story(index_dir, embedder, story)
    click(url, slack, render.SHARE_ACTION, share["value"], response="share")
    [reply] = slack.wait_for(at("share"))
    assert reply.body["response_type"] == "ephemeral" and reply.body["replace_original"] is False
    assert "delete_original" not in reply.body
    # Forged buttons: empty and oversized questions.
    for i, value in enumerate([json.dumps({"q": "", "s": None}), json.dumps({"q": "x" * 5000, "s": None})]):
        click(url, slack, render.SHARE_ACTION, value, response=f"forged{i}")
        [forged] = slack.wait_for(at(f"forged{i}"))
        assert forged.body["response_type"] == "ephemeral" and "delete_original" not in forged.body
    assert not [r for r in slack.messages() if r.body.get("response_type") == "in_channel"]
    assert not [r for r in slack.messages() if r.body.get("delete_original")]


def test_defect05_a_binding_to_a_removed_story_is_dropped_and_the_asker_told_once(
        url, slack, bindings, index_dir, embedder):
    story = "remove-me-5"
    slash(url, slack, f"use {story}", channel="C0STALE", response="bind")
    slack.wait_for(at("bind"))
    assert bindings.channel_story("slack:C0STALE") == story
    remove_story(index_dir, embedder, story)
    slash(url, slack, f'check "{COX_WORDS}"', channel="C0STALE", response="check")
    [told] = slack.wait_for(at("check"))
    assert told.body["response_type"] == "ephemeral"
    assert "has been removed" in told.text and "Something went wrong" not in told.text
    assert bindings.channel_story("slack:C0STALE") is None
    slash(url, slack, "quotes", channel="C0STALE", response="quotes")
    [quotes] = slack.wait_for(at("quotes"))
    assert "has been removed" not in quotes.text and "Something went wrong" not in quotes.text
    assert "Matt Cox" in quotes.text or "Jessica West" in quotes.text  # all stories again


def test_defect06_questions_with_no_words_are_refused_in_chat(url, slack, logs):
    for i, question in enumerate(["...", "the of and", "a", "\x1b[31m\x07 ring"]):
        slash(url, slack, question, response=f"q{i}")
        [reply] = slack.wait_for(at(f"q{i}"))
        assert reply.text.startswith("Sorry: The question") and "¶" not in reply.text
    no_tracebacks(logs)


def test_defect09_malformed_button_values_get_a_private_reply(url, slack, logs):
    values = ["not json", "[1]", '{"q": 1, "s": null}', '{"x": 1}', "[" * 1999, "", "x" * 3000]
    for i, value in enumerate(values):
        for action in (render.SHARE_ACTION, render.MORE_ACTION):
            name = f"b{i}{action[-4:]}"
            response = click(url, slack, action, value, response=name)
            assert response.status_code == 200
            [reply] = slack.wait_for(at(name))
            assert reply.body["response_type"] == "ephemeral" and "button no longer works" in reply.text
    no_tracebacks(logs)


def test_defect11_a_non_ascii_story_id_can_be_bound_and_asked(url, slack, bindings):
    slash(url, slack, f"use {CAFE}", channel="C0CAFE", response="bind")
    [bound] = slack.wait_for(at("bind"))
    assert "Bakery wins city prize" in bound.text
    assert bindings.channel_story("slack:C0CAFE") == CAFE
    slash(url, slack, "Who won the best bread prize?", channel="C0CAFE", response="ask")
    [answer] = slack.wait_for(at("ask"))
    assert "Rue Été bakery" in answer.text


def test_defect12_discord_deep_json_huge_numbers_and_wrong_option_types(url, key, discord_api, logs):
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"type": 1e400}', b'{"type": "2"}', b'{"type": NaN}',
                 b'{"type": 2, "data": {"options": "x"}}', b'{"type": 2, "member": {"permissions": [1]}}',
                 b'{"type": 2, "data": {"options": [{"type": 1, "options": [7]}]}}', b"\xff\xfe"):
        assert discord_post(url, key, body).status_code == 400, body[:40]
    for sub, options in (("ask", {"question": 5}), ("check", {"words": ["a", "b"]}), ("use", {"story": {"x": 1}})):
        resp = discord_post(url, key, json.dumps(discord_command(sub, **options)).encode())
        assert resp.status_code == 200
        reply = resp.json()
        assert reply["type"] == 4 and reply["data"]["flags"] == 64
        assert "must be text" in json.dumps(reply["data"]) and "ref" not in json.dumps(reply["data"])
    no_tracebacks(logs)


def test_lone_surrogates_in_json_text_are_replaced_not_a_500(url, slack, key, server, logs):
    # "\\ud800" is valid JSON but no text: it cannot be encoded, so the search, the log and the
    # response each raised (a 500 for /story check, an error with a ref for a question).
    for sub, options in (("ask", {"question": "\ud800" + COX}), ("check", {"words": COX_WORDS + " \udfff"})):
        resp = discord_post(url, key, json.dumps(discord_command(sub, **options)).encode())
        assert resp.status_code == 200 and "went wrong" not in resp.text
        assert COX_WORDS in resp.text
    event = {"type": "app_mention", "user": REPORTER, "text": f"<@{BOT_USER_ID}> {COX} \udbff",
             "ts": "1712345678.880001", "channel": "C0SURROGATE"}
    body = json.dumps({"type": "event_callback", "team_id": TEAM_ID, "event": event, "event_id": "Ev0SURROGATE",
                       "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}]}).encode()
    assert post(url, body, sign(body, content_type="application/json")).status_code == 200
    [answer] = slack.wait_for(lambda r: r.method == "chat.postMessage")
    assert COX_WORDS in answer.text
    no_tracebacks(logs)


def test_defect05_on_discord_a_removed_channel_story_is_unset_and_the_asker_told_privately(
        url, key, bindings, index_dir, embedder):
    channel = "2200000000000000077"
    bindings.bind("discord:" + channel, "remove-me-d")
    remove_story(index_dir, embedder, "remove-me-d")
    payload = discord_command("ask", question="When does the library close?")
    payload["channel_id"] = channel
    reply = discord_post(url, key, json.dumps(payload).encode()).json()
    assert reply["type"] == 4 and reply["data"]["flags"] == 64
    assert "has been removed" in json.dumps(reply["data"])
    assert bindings.channel_story("discord:" + channel) is None


def test_a_mention_that_fails_is_answered_to_the_asker_alone(url, slack, server):
    event = {"type": "app_mention", "user": REPORTER, "text": f"<@{BOT_USER_ID}> ...", "ts": "1712345678.990001",
             "channel": "C0MENTION", "event_ts": "1712345678.990001"}
    body = json.dumps({"token": "legacy", "team_id": TEAM_ID, "api_app_id": "A0STORYDESK", "event": event,
                       "type": "event_callback", "event_id": "Ev0HOSTILE1", "event_time": int(time.time()),
                       "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}]})
    response = httpx.post(url + "/slack/events", content=body.encode(), timeout=60,
                          headers=signed_headers(SECRET, body, content_type="application/json"))
    assert response.status_code == 200
    [private] = slack.wait_for(lambda r: r.method == "chat.postEphemeral")
    assert private.body["user"] == REPORTER and "The question has no words" in private.text
    assert server[1].wait_idle(60)
    assert slack.messages(lambda r: r.method == "chat.postMessage") == []


# --------------------------------------------------------------------------- the minor ones


def test_a_replayed_signed_slash_command_is_answered_once(url, slack, server):
    body = command_body(slack, COX, response="replay")
    headers = signed_headers(SECRET, body, content_type=FORM)
    for _ in range(3):
        assert httpx.post(url + "/slack/events", content=body.encode(), headers=headers, timeout=60).status_code == 200
    slack.wait_for(at("replay"))
    assert server[1].wait_idle(60)
    assert len(slack.messages(at("replay"))) == 1


def test_share_clicked_twice_posts_the_answer_in_the_channel_once(url, slack, server, logs):
    slash(url, slack, COX, response="ask")
    [private] = slack.wait_for(at("ask"))
    value = private.buttons[render.SHARE_ACTION]["value"]
    for name in ("share1", "share2"):  # a double click: both arrive before the first share is done
        assert click(url, slack, render.SHARE_ACTION, value, response=name, message_ts="7.000001").status_code == 200
    assert server[1].wait_idle(60)
    shared = [r for r in slack.messages() if r.body.get("response_type") == "in_channel"]
    assert len(shared) == 1 and COX_WORDS in shared[0].text
    [told] = [r for r in slack.messages(at("share1")) + slack.messages(at("share2")) if r.body.get("text")
              and r.body.get("response_type") == "ephemeral"]
    assert "already" in told.text
    # Another answer's Share still works.
    assert click(url, slack, render.SHARE_ACTION, value, response="share3", message_ts="7.000002").status_code == 200
    assert server[1].wait_idle(60)
    assert [r.body.get("response_type") for r in slack.messages(at("share3"))] == ["in_channel", None]
    no_tracebacks(logs)


def test_slacks_rate_limit_notice_is_acknowledged_and_logged_as_such(url, slack, logs):
    # Slack sends it (no bolt listener can take it) when it drops the app's events for a minute; it
    # wants a 200, and the operator a line that says what happened, not "Unhandled request".
    body = json.dumps({"token": "legacy", "type": "app_rate_limited", "team_id": TEAM_ID,
                       "minute_rate_limited": 1518467820, "api_app_id": "A0STORYDESK"}).encode()
    assert post(url, body, sign(body, content_type="application/json")).status_code == 200
    [line] = [r for r in logs.records if "rate" in r.getMessage()]
    assert line.levelno == logging.WARNING and "1518467820" in line.getMessage()
    assert not [r for r in logs.records if "Unhandled request" in r.getMessage()]
    assert slack.messages() == []


def test_a_slash_command_with_the_word_payload_is_answered(url, slack, server, logs):
    # bolt reads any form containing "payload" as an interaction and finds none: the question was lost.
    assert slash(url, slack, f"{COX} (the payload)", response="payload").status_code == 200
    [answer] = slack.wait_for(at("payload"))
    assert COX_WORDS in answer.text and answer.body["response_type"] == "ephemeral"
    no_tracebacks(logs)


def test_a_signed_form_with_ssl_check_other_than_1_is_checked_like_any_command(url, slack, server, logs):
    # Slack's check is ssl_check=1 alone; any other value made the guard skip its checks for a
    # command that bolt then ran anyway: no response_url (a traceback per post), no replay claim.
    fields = {"ssl_check": "0", "command": "/story", "text": COX, "user_id": REPORTER, "team_id": TEAM_ID,
              "channel_id": "C0SSL"}
    check = b"token=legacy&ssl_check=1"  # Slack's own check still gets its 200, every time
    assert [post(url, check, sign(check)).status_code for _ in range(2)] == [200, 200]
    bare = urlencode(fields).encode()
    assert post(url, bare, sign(bare)).status_code == 400
    full = urlencode(dict(fields, response_url=slack.response_url("ssl"))).encode()
    headers = sign(full)
    assert [post(url, full, headers).status_code for _ in range(2)] == [200, 200]
    slack.wait_for(at("ssl"))
    assert server[1].wait_idle(60)
    assert len(slack.messages(at("ssl"))) == 1
    no_tracebacks(logs)


def send_part(base: str, path: str, *, declared: int = 100, sent: bytes = b"tok") -> socket.socket:
    """A connection that has sent ``sent`` of a body declared ``declared`` bytes long, and no more."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {FORM}\r\n"
                 f"Content-Length: {declared}\r\n\r\n".encode() + sent)
    return sock


def wait_for_log(caplog: pytest.LogCaptureFixture, words: str, count: int) -> None:
    """Bounded wait (the server logs from its own thread) for ``count`` records containing ``words``."""
    done = threading.Event()
    for _ in range(600):
        if len([r for r in caplog.records if words in r.getMessage()]) >= count:
            return
        done.wait(0.05)


def test_a_client_that_hangs_up_mid_body_costs_one_line_not_a_traceback(url, logs):
    for path in ("/slack/events", "/discord/interactions"):
        send_part(url, path).close()
    wait_for_log(logs, "disconnected", 2)
    no_tracebacks(logs)
    assert len([r for r in logs.records if "disconnected" in r.getMessage()]) == 2


def test_a_body_that_never_finishes_gets_408_and_the_connection_is_closed(hostile_settings, gated, tmp_path, logs):
    app = create_http_app(gated, replace(hostile_settings, body_timeout_s=0.5), Bindings.in_folder(tmp_path))
    try:
        with running(app) as base:
            for path in ("/slack/events", "/discord/interactions"):
                with send_part(base, path) as sock:  # and then nothing more, ever (slowloris)
                    answer = sock.recv(4096).decode("latin-1")
                    assert answer.startswith("HTTP/1.1 408 "), answer[:80]
                    while sock.recv(4096):  # the server closes the connection: b"" at its end
                        pass
    finally:
        app.state.slack.close()
        app.state.discord.close()
    no_tracebacks(logs)


def test_clients_that_never_finish_their_headers_hold_at_most_max_connections(hostile_settings, gated, tmp_path,
                                                                                 logs):
    """uvicorn has no timeout while headers arrive; past ``max_connections`` open connections a new
    request gets 503 at once, and once they hang up the server answers again."""
    settings = replace(hostile_settings, max_connections=3, log_format="json")
    app = create_http_app(gated, settings, Bindings.in_folder(tmp_path))
    config = server_config(app, settings, "127.0.0.1", free_port())
    try:
        with running(app, config=config) as base:
            stalled = [socket.create_connection(("127.0.0.1", config.port), timeout=30) for _ in range(3)]
            for sock in stalled:
                sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the rest
            assert httpx.get(f"{base}/healthz", timeout=30).status_code == 503
            for sock in stalled:
                sock.close()
            status, waited = 503, threading.Event()
            for _ in range(600):  # bounded: the server notices the hang-ups on its own loop
                status = httpx.get(f"{base}/healthz", timeout=30).status_code
                if status != 503:
                    break
                waited.wait(0.05)
            assert status == 200
    finally:
        app.state.slack.close()
        app.state.discord.close()
    no_tracebacks(logs)


def test_an_answer_past_its_time_budget_gets_a_polite_reply_not_silence(hostile_settings, gated, slack, tmp_path):
    slack.clear()
    surface = build_surface(gated, replace(hostile_settings, answer_budget_s=0.5), Bindings.in_folder(tmp_path))
    app = create_http_app(gated, hostile_settings, Bindings.in_folder(tmp_path), surface=surface)
    gated.hold.set()
    try:
        with running(app) as base:
            slash(base, slack, f'check "{COX_WORDS}"', response="slow")
            [reply] = slack.wait_for(at("slow"))
            assert "took longer than" in reply.text and reply.body["response_type"] == "ephemeral"
            gated.gate.set()
            assert surface.wait_idle(60)
            assert len(slack.messages(at("slow"))) == 1  # the late answer is dropped, not sent too
    finally:
        gated.hold.clear()
        gated.gate.set()
        surface.close()
        gated.gate.clear()
        gated.checking.clear()


# --------------------------------------------------------------------------- fuzzed shapes

_WEIRD: list[Any] = [None, 0, -1, 1.5, 10**30, True, "", "x" * 3000, "\x00\x1b[2J", [], {}, [1, [2]],
                     {"a": {"b": 1}}, "café", "<!channel>", "../../etc"]


def _mutate(rng: random.Random, value: Any) -> Any:
    """``value`` with fields dropped, or swapped for values of the wrong type, at every level."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            roll = rng.random()
            if roll < 0.15:
                continue
            out[k] = rng.choice(_WEIRD) if roll < 0.35 else _mutate(rng, v)
        return out
    if isinstance(value, list):
        return [_mutate(rng, v) for v in value] if rng.random() > 0.1 else rng.choice(_WEIRD)
    return value


def test_signed_payloads_of_the_wrong_shape_never_make_a_server_error_or_a_traceback(url, slack, key, server, logs):
    """Seeded: real Slack and Discord payloads with fields dropped or of the wrong type, signed."""
    rng = random.Random(20261201)
    command = {"token": "t", "team_id": TEAM_ID, "channel_id": "C0FUZZ", "user_id": REPORTER, "command": "/story",
               "text": COX, "response_url": slack.response_url("fuzz"), "trigger_id": "1.t", "api_app_id": "A1"}
    action = {"type": "block_actions", "user": {"id": REPORTER, "team_id": TEAM_ID}, "api_app_id": "A1",
              "container": {"type": "message", "message_ts": "1.1", "channel_id": "C0FUZZ", "is_ephemeral": True},
              "trigger_id": "1.t", "team": {"id": TEAM_ID}, "channel": {"id": "C0FUZZ"},
              "response_url": slack.response_url("fuzz"), "message": {"ts": "1.1", "thread_ts": "1.0"},
              "actions": [{"action_id": render.SHARE_ACTION, "block_id": "b",
                           "value": json.dumps({"q": "Who?", "s": None}), "type": "button"}]}
    event = {"token": "t", "team_id": TEAM_ID, "api_app_id": "A1", "type": "event_callback", "event_time": 1,
             "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
             "event": {"type": "app_mention", "user": REPORTER, "text": f"<@{BOT_USER_ID}> who said it?",
                       "ts": "1.2", "channel": "C0FUZZ", "event_ts": "1.2"}}
    statuses = []
    for i in range(240):
        kind = i % 4
        if kind == 0:
            form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in _mutate(rng, command).items()}
            body = urlencode(form).encode()
            statuses.append(post(url, body, sign(body)).status_code)
        elif kind == 1:
            payload = _mutate(rng, action)
            payload["type"] = "block_actions" if rng.random() < 0.8 else payload.get("type")
            body = urlencode({"payload": json.dumps(payload)}).encode()
            statuses.append(post(url, body, sign(body)).status_code)
        elif kind == 2:
            payload = _mutate(rng, event)
            payload["type"] = "event_callback" if rng.random() < 0.8 else payload.get("type")
            payload["event_id"] = f"EvFuzz{i}"
            body = json.dumps(payload).encode()
            statuses.append(post(url, body, sign(body, content_type="application/json")).status_code)
        else:
            payload = _mutate(rng, discord_command("ask", question="Who?", story="x"))
            payload["type"] = 2 if rng.random() < 0.7 else payload.get("type")
            statuses.append(discord_post(url, key, json.dumps(payload).encode()).status_code)
    assert server[1].wait_idle(120)
    assert [s for s in statuses if s >= 500] == []
    assert statuses.count(400) > 60 and statuses.count(200) > 30  # both refused and answered shapes
    no_tracebacks(logs)


# --------------------------------------------------------------------------- hostile load


def test_hostile_load_no_server_errors_no_double_posts_and_memory_comes_back(url, slack, key, server, logs):
    """A few hundred malformed, oversized and replayed requests mixed with real questions."""
    surface = server[1]
    process = psutil.Process()

    def settle() -> float:
        assert surface.wait_idle(120)
        gc.collect()
        return process.memory_info().rss / 2**20

    questions = [COX, "Who called the decision catastrophic?", "How many school officers are there?"]
    big = b"x" * 3_000_000  # over the limit (one object, so the test itself holds no more)

    def mix(prefix: str, rounds: int) -> list[tuple[str, Any]]:
        requests: list[tuple[str, Any]] = []
        for i in range(rounds):  # real questions, each replayed once
            body = command_body(slack, questions[i % len(questions)], response=f"{prefix}{i}")
            headers = signed_headers(SECRET, body, content_type=FORM)
            requests += [("slack", (body.encode(), headers)), ("slack", (body.encode(), headers))]
        for i in range(rounds * 2):
            requests.append(("slack", (b"payload=x", {"Content-Type": FORM})))  # unsigned
            bad = b"{bad" * (i + 1)
            requests.append(("slack", (bad, sign(bad, content_type="application/json"))))
            deep = b"payload=" + b"[" * 3000
            requests.append(("slack", (deep, sign(deep))))
            requests.append(("discord", b'{"type": 1e400}'))
        for _ in range(rounds * 2 // 3):
            requests.append(("raw", "/slack/events"))
            requests.append(("raw", "/discord/interactions"))
        return requests

    def send(item: tuple[str, Any]) -> int:
        kind, payload = item
        if kind == "raw":  # sent without copying: the client's own buffers are not measured
            return raw_post(url, payload, big)
        try:
            if kind == "discord":
                return discord_post(url, key, payload).status_code
            body, headers = payload
            return post(url, body, headers).status_code
        except httpx.HTTPError:  # a refused upload may be cut off while sending: not a server error
            return 0

    def run(requests: list[tuple[str, Any]]) -> list[int]:
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(send, requests))

    # First answers, and the first big bodies at full concurrency, allocate caches and grow the
    # allocator's pools (the client's too: it shares this process): that is not a leak.
    run(mix("warm", 12))
    start = settle()
    slack.clear()
    requests = mix("real", 30)
    statuses = run(requests)
    end = settle()

    assert [s for s in statuses if s >= 500] == []
    assert len(requests) >= 300
    assert statuses.count(413) >= 20 and statuses.count(400) >= 150 and statuses.count(401) >= 60
    for i in range(30):
        assert len(slack.messages(at(f"real{i}"))) == 1, f"question {i} answered other than once"
    assert not [r for r in slack.messages() if r.problems]
    no_tracebacks(logs)
    print(f"RSS {start:.0f} MB -> {end:.0f} MB")
    assert end - start < 50, f"RSS {start:.0f} MB -> {end:.0f} MB"
