"""End to end, loopback only: signed interactions into the real HTTP server, a stand-in for
Discord's API recording what storydesk sends back.

Interactions are signed exactly as Discord signs them (Ed25519 over timestamp + raw body) with a
key pair generated here. The server is the production app from ``bot.server.create_http_app``
with the real Desk (real model, bundled story). Its endpoint answers directly or defers depending
on how fast the answer is, so tests read the outcome either way (:func:`outcome`). Two extra
mounts make each path deterministic without timing assumptions: ``/patient`` waits as long as it
takes and always replies directly; ``/hasty`` always defers and edits the original via the stub.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from discord_api_stub import THINKING, DiscordAPIStub, serve_asgi  # tests/bot is on sys.path
from nacl.signing import SigningKey
from starlette.routing import Mount

from bot import render_discord as rd
from bot.answer import Answer
from bot.bindings import Bindings
from bot.discord_app import STORY_COMMAND, discord_routes, register_commands
from bot.server import create_http_app
from bot.settings import Settings
from index.models import Hit

APP_ID = "1200000000000000001"
STORY = "met-police-safer-schools-officers"
COX_WORDS = "This is about embedding the 371 school officers"
ENDPOINT = "/discord/interactions"
HASTY = "/hasty" + ENDPOINT
PATIENT = "/patient" + ENDPOINT


class SwitchDesk:
    """The real desk, with ``ask`` replaceable per test (slow, failing, huge answers) and the
    story each question was asked against recorded."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.ask_override: Callable[..., Answer] | None = None
        self.asked: list[tuple[str, str | None]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def ask(self, question: str, story: str | None = None, k: int = 3) -> Answer:
        self.asked.append((question, story))
        return (self.ask_override or self.real.ask)(question, story=story, k=k)


@dataclass
class Env:
    url: str
    api: DiscordAPIStub
    key: SigningKey
    desk: SwitchDesk
    bindings: Bindings
    settings: Settings
    app: Any = None

    def desk_commands(self) -> Any:
        """The command layer behind the main endpoint (its feedback store, for assertions)."""
        route = next(r for r in self.app.routes if getattr(r, "path", "") == ENDPOINT)
        return route.endpoint.__self__.commands


@pytest.fixture(scope="module")
def env(desk: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    key = SigningKey.generate()
    folder = tmp_path_factory.mktemp("discord")
    with DiscordAPIStub() as api:
        settings = Settings(
            index_dir=folder,
            discord_application_id=APP_ID,
            discord_public_key=key.verify_key.encode().hex(),
            discord_bot_token="test-bot-token",
            discord_api_url=api.base_url,
        )
        switch, bindings = SwitchDesk(desk), Bindings.in_folder(folder)
        app = create_http_app(switch, settings, bindings)
        app.router.routes += [
            Mount("/hasty", routes=discord_routes(switch, settings, bindings, reply_within=0)),
            Mount("/patient", routes=discord_routes(switch, settings, bindings, reply_within=600)),
        ]
        with serve_asgi(app) as url:
            yield Env(url, api, key, switch, bindings, settings, app)


@pytest.fixture(autouse=True)
def _reset(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "env" in request.fixturenames:
        env = request.getfixturevalue("env")
        env.desk.ask_override = None
        env.api.fail_edits.clear()
        env.api.fail_deletes.clear()
        env.api.fail_followups.clear()


# --- Discord's side ------------------------------------------------------------------------------


def command(sub: str, channel: str = "2200000000000000001", permissions: str = "2147483647", **options: Any) -> dict:
    """An APPLICATION_COMMAND interaction for ``/story <sub>`` as Discord sends it from a server."""
    return {
        "type": 2,
        "id": str(uuid.uuid4().int >> 64),
        "application_id": APP_ID,
        "token": "tok-" + uuid.uuid4().hex,
        "version": 1,
        "guild_id": "3300000000000000001",
        "channel_id": channel,
        "channel": {"id": channel, "type": 0},
        "member": {"user": {"id": "4400000000000000001", "username": "reporter"}, "permissions": permissions,
                   "roles": []},
        "locale": "en-GB",
        "data": {
            "id": "5500000000000000001", "name": "story", "type": 1,
            "options": [{
                "name": sub, "type": 1,
                "options": [
                    {"name": k, "type": 5 if isinstance(v, bool) else 3, "value": v} for k, v in options.items()
                ],
            }],
        },
    }


def send(env: Env, payload: Any, *, path: str = ENDPOINT, timestamp: str | None = None,
         key: SigningKey | None = None, signature: str | None = None) -> httpx.Response:
    """POST ``payload`` signed like Discord: Ed25519 over ``timestamp + raw body``."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    if signature is None:
        signature = (key or env.key).sign(timestamp.encode() + body).signature.hex()
    headers = {"Content-Type": "application/json", "X-Signature-Ed25519": signature, "X-Signature-Timestamp": timestamp}
    return httpx.post(env.url + path, content=body, headers=headers, timeout=120)


def reply_of(resp: httpx.Response) -> dict:
    """The message of a direct (type 4) reply, checked against Discord's limits."""
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["type"] == 4, body
    assert rd.validate(body["data"]) == []
    return body["data"]


def edited(env: Env, payload: dict, resp: httpx.Response, *, ephemeral: bool = True) -> dict:
    """The message a deferred reply was edited to (checked by the stub against the limits)."""
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"type": 5, "data": {"flags": 64} if ephemeral else {}}
    token = payload["token"]
    [edit] = env.api.wait_for(lambda r: r.is_edit and f"/{token}/" in r.path)
    assert edit.path == f"/api/v10/webhooks/{APP_ID}/{token}/messages/@original"
    assert edit.problems == []
    return edit.body


@dataclass
class Outcome:
    message: dict
    ephemeral: bool
    deferred: bool


def outcome(env: Env, payload: dict, resp: httpx.Response) -> Outcome:
    """What the user ends up seeing, whether the endpoint replied directly or deferred."""
    assert resp.status_code == 200, resp.text
    body = resp.json()
    if body["type"] == 4:
        message = reply_of(resp)
        return Outcome(message, message.get("flags") == 64, False)
    ephemeral = body.get("data", {}).get("flags") == 64
    return Outcome(edited(env, payload, resp, ephemeral=ephemeral), ephemeral, True)


def interact(env: Env, sub: str, *, path: str = ENDPOINT, **options: Any) -> Outcome:
    """Run ``/story <sub> options...`` through ``path`` and return what the user sees."""
    payload = command(sub, **options)
    return outcome(env, payload, send(env, payload, path=path))


def text_of(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False)


# --- verification --------------------------------------------------------------------------------


def test_ping_gets_pong(env: Env):
    resp = send(env, {"type": 1, "id": "1", "application_id": APP_ID, "token": "t", "version": 1})
    assert resp.status_code == 200 and resp.json() == {"type": 1}


@pytest.mark.parametrize("forgery", ["other key", "tampered body", "no headers", "not hex", "stale", "future"])
def test_bad_signature_or_timestamp_is_401_and_posts_nothing(env: Env, forgery: str):
    payload = command("ask", question="What did Matt Cox tell the Assembly?")
    body = json.dumps(payload).encode()
    now = int(time.time())
    if forgery == "other key":
        resp = send(env, body, path=HASTY, key=SigningKey.generate())
    elif forgery == "tampered body":
        ts = str(now)
        sig = env.key.sign(ts.encode() + body).signature.hex()
        resp = send(env, body.replace(b"Matt Cox", b"Matt Fox"), path=HASTY, timestamp=ts, signature=sig)
    elif forgery == "no headers":
        resp = httpx.post(env.url + HASTY, content=body, headers={"Content-Type": "application/json"}, timeout=120)
    elif forgery == "not hex":
        resp = send(env, body, path=HASTY, signature="zz" * 64)
    elif forgery == "stale":  # correctly signed, but replayed more than 5 minutes later
        resp = send(env, body, path=HASTY, timestamp=str(now - 400))
    else:
        # margin: a loaded machine may take seconds to get here
        resp = send(env, body, path=HASTY, timestamp=str(now + 400))
    assert resp.status_code == 401
    # Barrier: a valid interaction sent afterwards is edited; by then a forged one would have been.
    sentinel = command("help")
    edited(env, sentinel, send(env, sentinel, path=HASTY))
    assert env.api.edits(payload["token"]) == []
    assert not any(payload["token"] in r.path for r in env.api.requests)


def test_signed_garbage_is_400(env: Env):
    assert send(env, b"{not json").status_code == 400
    assert send(env, {"type": 99}).status_code == 400


# --- /story ask ----------------------------------------------------------------------------------


def test_ask_answers_with_the_verbatim_excerpt_and_speaker(env: Env):
    seen = interact(env, "ask", question="What did Matt Cox tell the Assembly?")
    assert seen.ephemeral  # private by default
    first = seen.message["embeds"][0]
    assert COX_WORDS in first["description"]
    assert "Headteacher slams Met Police" in first["footer"]["text"]
    hit = env.desk.real.ask("What did Matt Cox tell the Assembly?").hits[0]
    assert first["footer"]["text"].startswith(f"¶{hit.paragraph} ·")
    if hit.speaker:  # speakers arrive with quote extraction
        assert "Matt Cox" in first["title"]


def test_ask_catastrophic(env: Env):
    first = interact(env, "ask", question="Who called the decision catastrophic?").message["embeds"][0]
    assert "catastrophic" in first["description"]
    if env.desk.real.ask("Who called the decision catastrophic?").hits[0].speaker:
        assert "Jessica West" in first["title"]


def test_ready_answer_is_sent_directly(env: Env):
    resp = send(env, command("ask", question="What did Matt Cox tell the Assembly?"), path=PATIENT)
    message = reply_of(resp)  # type 4: the answer itself, no webhook edit needed
    assert message["flags"] == 64 and COX_WORDS in message["embeds"][0]["description"]


def test_ask_public_is_not_ephemeral(env: Env):
    seen = interact(env, "ask", question="What did Matt Cox tell the Assembly?", public=True)
    assert not seen.ephemeral and "flags" not in seen.message
    assert COX_WORDS in seen.message["embeds"][0]["description"]


def test_everyone_in_question_neither_pings_nor_breaks_rendering(env: Env):
    question = "@everyone **What** did <@123> Matt Cox tell the Assembly? @here"
    message = interact(env, "ask", question=question, public=True).message
    assert message["allowed_mentions"] == {"parse": []}
    assert "\\@everyone" in message["content"] and "\\@here" in message["content"]
    assert "\\<\\@123>" in message["content"] and "\\*\\*What\\*\\*" in message["content"]
    assert COX_WORDS in message["embeds"][0]["description"]


def test_slow_answer_is_deferred_then_the_original_is_edited(env: Env):
    release = threading.Event()

    def slow(question: str, story: str | None = None, k: int = 3) -> Answer:
        assert release.wait(60), "test never released the slow question"
        return env.desk.real.ask(question, story=story, k=k)

    env.desk.ask_override = slow
    payload = command("ask", question="What did Matt Cox tell the Assembly?")
    resp = send(env, payload, path=HASTY)
    assert resp.json() == {"type": 5, "data": {"flags": 64}}
    assert env.api.edits(payload["token"]) == []  # nothing until the answer exists
    release.set()
    message = edited(env, payload, resp)
    assert COX_WORDS in message["embeds"][0]["description"]
    assert message["allowed_mentions"] == {"parse": []}
    [edit] = env.api.edits(payload["token"])
    assert "authorization" not in edit.headers  # the interaction token is the credential


def test_deferred_public_answer_is_posted_publicly_once(env: Env):
    payload = command("ask", question="Who called the decision catastrophic?", public=True)
    message = edited(env, payload, send(env, payload, path=HASTY), ephemeral=False)
    assert "catastrophic" in message["embeds"][0]["description"]
    assert hasty_delivery(env).wait_idle(60)
    assert env.api.channel_sees(payload["token"]) == [message]  # edited once: no deletion, no follow-up
    assert len(env.api.edits(payload["token"])) == 1 and env.api.followups(payload["token"]) == []


def test_too_long_question_gets_a_polite_private_error(env: Env):
    message = reply_of(send(env, command("ask", question="why " * 300, public=True), path=PATIENT))
    assert message["flags"] == 64  # errors stay private even when the answer would be public
    assert message["embeds"] == [] and "ref" not in message["content"]
    assert message["content"]


def index_on_fire(question: str, story: str | None = None, k: int = 3) -> Answer:
    """A desk whose search is broken: each question is a bug, shown with a ref."""
    raise RuntimeError("index on fire")


def logged_ref(message: dict, caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    """The log record, with its traceback, that the ref ``message`` shows points to."""
    ref = message["content"].split("ref `")[1].split("`")[0]
    [record] = [r for r in caplog.records if ref in r.getMessage()]
    return record


@pytest.mark.parametrize("path", [PATIENT, HASTY])
def test_failing_search_shows_an_error_with_a_ref_that_is_logged(env: Env, path: str, caplog: pytest.LogCaptureFixture):
    env.desk.ask_override = index_on_fire
    with caplog.at_level(logging.ERROR, logger="bot.discord_app"):
        message = interact(env, "ask", path=path, question="What did Matt Cox tell the Assembly?").message
    assert "went wrong" in message["content"] and "index on fire" not in message["content"]
    logged = logged_ref(message, caplog)
    assert logged.exc_info and "index on fire" in str(logged.exc_info[1])


def test_undeliverable_edit_is_replaced_by_an_error_with_a_ref(env: Env):
    env.api.fail_edits[:] = [500]
    payload = command("ask", question="What did Matt Cox tell the Assembly?")
    assert send(env, payload, path=HASTY).json()["type"] == 5
    first, second = env.api.wait_for(lambda r: r.is_edit and payload["token"] in r.path, count=2)
    assert COX_WORDS in first.body["embeds"][0]["description"]
    assert "could not be delivered" in second.body["content"] and "ref `" in second.body["content"]


def test_rate_limited_edit_is_retried(env: Env):
    env.api.fail_edits[:] = [429]
    payload = command("ask", question="What did Matt Cox tell the Assembly?")
    assert send(env, payload, path=HASTY).json()["type"] == 5
    first, second = env.api.wait_for(lambda r: r.is_edit and payload["token"] in r.path, count=2)
    assert first.body == second.body and COX_WORDS in second.body["embeds"][0]["description"]


@pytest.mark.parametrize("path", [PATIENT, HASTY])
def test_six_thousand_character_answer_fits_discord_limits(env: Env, path: str):
    long = "The officers were moved into ward teams after a review of the programme. " * 100

    def huge(question: str, story: str | None = None, k: int = 3) -> Answer:
        hits = tuple(
            Hit(STORY, "Headteacher slams Met Police decision", i, long, long, 1.0, f"Speaker {i}", "Head", "")
            for i in range(1, 4)
        )
        return Answer(question, story, True, "", hits)

    env.desk.ask_override = huge
    message = interact(env, "ask", path=path, question="Tell me everything " * 50).message
    # reply_of/edited already checked every limit (the stub answers 400 to a message over them)
    assert len(message["embeds"]) == 3 and all(e["description"].endswith("…") for e in message["embeds"])
    assert 5000 < sum(rd.embed_size(e) for e in message["embeds"]) <= 6000
    assert [e["footer"]["text"][:3] for e in message["embeds"]] == ["¶1 ", "¶2 ", "¶3 "]


# --- a public command's errors stay private ------------------------------------------------------
# After a public deferral, Discord would show an edit of it to the whole channel. A refusal or a
# failure deletes the deferral and reaches the asker as an ephemeral follow-up; the stand-in replays
# Discord's rules (a follow-up to a deferral still "thinking" would edit it, publicly).


def hasty_delivery(env: Env) -> Any:
    """The delivery behind the always-deferring endpoint (to wait until it has posted everything)."""
    mount = next(r for r in env.app.routes if getattr(r, "path", "") == "/hasty")
    return mount.routes[0].endpoint.__self__.delivery


def publicly_deferred(env: Env, payload: dict) -> str:
    """Send ``payload`` to the always-deferring endpoint; check the deferral is public; its token."""
    resp = send(env, payload, path=HASTY)
    assert resp.status_code == 200 and resp.json() == {"type": 5, "data": {}}, resp.text
    return payload["token"]


def told_privately(env: Env, token: str) -> dict:
    """The one ephemeral follow-up the asker got, once the public deferral was deleted, and that
    nothing was left for the channel to see."""
    [followup] = env.api.wait_for(lambda r: r.is_followup and r.token == token)
    assert hasty_delivery(env).wait_idle(60)
    calls = [r for r in env.api.requests if r.token == token]
    assert [r.method for r in calls if not r.is_edit] == ["DELETE", "POST"]  # deleted first, then told
    assert followup.status == 200 and followup.problems == []
    assert followup.ephemeral and followup.body["flags"] == 64 and not followup.edits_deferral
    assert env.api.channel_sees(token) == []
    return followup.body


def test_a_public_command_that_fails_leaves_nothing_in_the_channel(env: Env, caplog: pytest.LogCaptureFixture):
    env.desk.ask_override = index_on_fire
    with caplog.at_level(logging.ERROR):
        token = publicly_deferred(env, command("ask", question="What did Matt Cox tell the Assembly?", public=True))
        message = told_privately(env, token)
    assert "went wrong" in message["content"] and "index on fire" not in message["content"]
    assert "index on fire" in str(logged_ref(message, caplog).exc_info[1])
    assert env.api.edits(token) == []  # the error never touched the public deferral


@pytest.mark.parametrize("sub, options, refusal", [
    ("ask", {"question": "Who said it?", "story": "nope", "public": True}, "There is no story"),
    ("ask", {"question": "why " * 300, "public": True}, "1,000"),
    ("use", {"story": STORY, "permissions": "0"}, "manage this channel"),  # /story use is always announced
])
def test_a_public_command_refused_after_its_deferral_is_told_to_the_asker_alone(env: Env, sub, options, refusal):
    message = told_privately(env, publicly_deferred(env, command(sub, channel="2200000000000000999", **options)))
    assert refusal in message["content"] and "ref" not in message["content"]
    assert env.bindings.channel_story("discord:2200000000000000999") is None


def test_a_public_answer_discord_refuses_is_replaced_by_a_private_error(env: Env):
    env.api.fail_edits[:] = [500]
    token = publicly_deferred(env, command("ask", question="What did Matt Cox tell the Assembly?", public=True))
    message = told_privately(env, token)
    assert "could not be delivered" in message["content"] and "ref `" in message["content"]
    [refused] = env.api.edits(token)
    assert refused.status == 500 and COX_WORDS in refused.body["embeds"][0]["description"]


def test_a_rate_limited_deletion_is_retried(env: Env):
    env.api.fail_deletes[:] = [429]
    token = publicly_deferred(env, command("ask", question="Who said it?", story="nope", public=True))
    [followup] = env.api.wait_for(lambda r: r.is_followup and r.token == token)
    assert hasty_delivery(env).wait_idle(60)
    assert [r.status for r in env.api.requests if r.is_delete and r.token == token] == [429, 204]
    assert followup.ephemeral and env.api.channel_sees(token) == []


def one_line_with_a_ref(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    """The single warning the endpoint logged: a ref, no traceback."""
    [line] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert line.name == "bot.discord_app" and "ref " in line.getMessage() and "\n" not in line.getMessage()
    assert line.exc_info is None and line.exc_text is None and line.ref in line.getMessage()
    return line


def test_when_the_deletion_fails_no_follow_up_can_make_the_error_public(env: Env, caplog: pytest.LogCaptureFixture):
    env.api.fail_deletes[:] = [500]
    with caplog.at_level(logging.WARNING):
        token = publicly_deferred(env, command("ask", question="Who said it?", story="nope", public=True))
        env.api.wait_for(lambda r: r.is_delete and r.token == token)
        assert hasty_delivery(env).wait_idle(60)
    assert "HTTP 500" in one_line_with_a_ref(caplog).getMessage()
    # A follow-up now would edit the public deferral: none is sent, and the channel sees no error.
    assert env.api.followups(token) == [] and env.api.edits(token) == []
    assert env.api.channel_sees(token) == [THINKING]


def test_when_the_follow_up_fails_the_asker_is_logged_with_a_ref(env: Env, caplog: pytest.LogCaptureFixture):
    env.api.fail_followups[:] = [500]
    with caplog.at_level(logging.WARNING):
        token = publicly_deferred(env, command("ask", question="Who said it?", story="nope", public=True))
        [followup] = env.api.wait_for(lambda r: r.is_followup and r.token == token)
        assert hasty_delivery(env).wait_idle(60)
    assert followup.status == 500 and "HTTP 500" in one_line_with_a_ref(caplog).getMessage()
    assert env.api.channel_sees(token) == []  # the deferral was deleted all the same


# --- the other subcommands -----------------------------------------------------------------------


def test_help(env: Env):
    assert "/story ask" in interact(env, "help").message["content"]


def test_stories_lists_the_bundled_story(env: Env):
    message = interact(env, "stories").message
    assert STORY in text_of(message)
    assert "Headteacher slams Met Police" in message["embeds"][0]["description"]


def test_use_binds_the_channel_and_questions_follow_it(env: Env):
    channel = "2200000000000000777"
    seen = interact(env, "use", channel=channel, story=STORY)
    assert not seen.ephemeral  # the channel sees what it is now about
    assert "Headteacher slams Met Police" in seen.message["content"]
    assert env.bindings.channel_story(f"discord:{channel}") == STORY

    interact(env, "ask", channel=channel, question="What did Matt Cox tell the Assembly?")
    assert env.desk.asked[-1] == ("What did Matt Cox tell the Assembly?", STORY)
    assert "this channel" in text_of(interact(env, "stories", channel=channel).message)

    assert "all stories" in interact(env, "use", channel=channel, story="all").message["content"]
    assert env.bindings.channel_story(f"discord:{channel}") is None


def test_use_rejects_unknown_story_and_members_who_cannot_manage_the_channel(env: Env):
    channel = "2200000000000000888"
    message = reply_of(send(env, command("use", channel=channel, story="no-such-story"), path=PATIENT))
    assert message["flags"] == 64 and "There is no story" in message["content"]
    message = reply_of(send(env, command("use", channel=channel, permissions="0", story=STORY), path=PATIENT))
    assert message["flags"] == 64 and "manage this channel" in message["content"]
    assert env.bindings.channel_story(f"discord:{channel}") is None


def test_ask_with_unknown_story_option_is_a_polite_error(env: Env):
    message = interact(env, "ask", question="Who said it?", story="nope").message
    assert "There is no story" in message["content"] and "ref" not in message["content"]


def test_quotes(env: Env):
    message = interact(env, "quotes", name="Matt Cox").message
    assert COX_WORDS in text_of(message)
    assert "Matt Cox" in message["embeds"][0]["title"]
    assert len(interact(env, "quotes").message["embeds"]) >= 2


def test_check(env: Env):
    verbatim = interact(env, "check", words=COX_WORDS).message
    assert verbatim["content"].startswith("✅") and COX_WORDS in verbatim["embeds"][0]["description"]
    near = interact(env, "check", words="This is about embedding the 317 school officers").message
    assert near["content"].startswith("⚠️") and near["embeds"][0]["fields"][0]["name"] == "Differences"
    absent = interact(env, "check", words="The moon landing was staged in a television studio")
    assert absent.message["content"].startswith("❌")


def test_autocomplete_offers_story_ids(env: Env):
    payload = command("use", story="met")
    payload["type"] = 4
    payload["data"]["options"][0]["options"][0]["focused"] = True
    resp = send(env, payload)
    assert resp.status_code == 200
    body = resp.json()
    assert body["type"] == 8
    assert {"name": body["data"]["choices"][0]["name"], "value": STORY} == body["data"]["choices"][0]
    assert all(len(c["name"]) <= 100 for c in body["data"]["choices"])


# --- registration --------------------------------------------------------------------------------


def test_register_sends_the_story_command(env: Env):
    result = register_commands(env.settings)
    [put] = env.api.wait_for(lambda r: r.method == "PUT")
    assert put.path == f"/api/v10/applications/{APP_ID}/commands"
    assert put.headers["authorization"] == "Bot test-bot-token"
    assert put.body == [STORY_COMMAND]
    assert result["name"] == "story" and result["id"]

    [story] = put.body
    subs = {o["name"]: o for o in story["options"]}
    assert set(subs) == {"ask", "quotes", "check", "stories", "use", "add", "follow", "help"}
    assert all(o["type"] == 1 for o in subs.values())
    ask = {o["name"]: o for o in subs["ask"]["options"]}
    assert ask["question"]["type"] == 3 and ask["question"]["required"] is True
    assert ask["public"]["type"] == 5 and not ask["public"].get("required")
    assert subs["check"]["options"][0] == {**subs["check"]["options"][0], "name": "words", "type": 3, "required": True}
    assert subs["use"]["options"][0]["autocomplete"] is True
    for sub in subs.values():  # Discord rejects optional options before required ones
        required = [bool(o.get("required")) for o in sub.get("options", [])]
        assert required == sorted(required, reverse=True)
        assert all(1 <= len(o["description"]) <= 100 for o in [sub, *sub.get("options", [])])


def test_register_for_one_guild_and_refusals(env: Env):
    register_commands(env.settings, guild_id="3300000000000000001")
    env.api.wait_for(lambda r: r.path == f"/api/v10/applications/{APP_ID}/guilds/3300000000000000001/commands")
    with pytest.raises(ValueError):
        register_commands(replace(env.settings, discord_bot_token=""))
    with pytest.raises(RuntimeError) as refused:
        register_commands(replace(env.settings, discord_api_url=env.api.base_url + "/nowhere"))
    assert "test-bot-token" not in str(refused.value)


def test_unanswerable_question_says_so_and_names_what_the_desk_covers(env: Env):
    message = interact(env, "ask", question="What is the weather like on Mars this week?").message
    assert "doesn't say" in message["content"]
    assert "Headteacher slams Met Police" in message["content"]
    assert all(e["color"] == rd.COLOUR_MUTED for e in message["embeds"])


# --- feedback buttons ----------------------------------------------------------------------------


def click(env: Env, custom_id: str, user: str = "4400000000000000001") -> dict:
    """A MESSAGE_COMPONENT interaction: ``user`` clicked the button ``custom_id``."""
    payload = command("ask")
    payload.update(type=3, data={"custom_id": custom_id, "component_type": 2},
                   member={"user": {"id": user, "username": "reporter"}, "permissions": "0", "roles": []})
    resp = send(env, payload)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert rd.validate(body["data"]) == []
    return body


def test_feedback_votes_ask_what_was_wrong_and_a_second_click_changes_the_vote(env: Env):
    seen = interact(env, "ask", path=PATIENT, question="What did Matt Cox tell the Assembly?", public=True)
    [row] = seen.message["components"]
    buttons = {b["label"]: b["custom_id"] for b in row["components"]}
    assert set(buttons) == {"👍", "👎"}

    prompt = click(env, buttons["👎"])
    assert prompt["type"] == 4 and prompt["data"]["flags"] == 64 and "What was wrong" in prompt["data"]["content"]
    reasons = {b["label"]: b["custom_id"] for b in prompt["data"]["components"][0]["components"]}
    assert list(reasons) == ["Wrong passage", "Wrong speaker", "Should have said the story doesn't say", "Other"]
    thanks = click(env, reasons["Wrong speaker"])
    assert thanks["type"] == 7 and thanks["data"]["components"] == [] and "Wrong speaker" in thanks["data"]["content"]
    store = env.desk_commands().feedback
    answer_id = buttons["👍"].rsplit(":", 1)[1]
    assert [v.choice for v in store.votes() if v.answer_id == answer_id] == ["wrong_speaker"]

    assert click(env, buttons["👍"])["data"]["flags"] == 64  # a second click changes the vote
    click(env, buttons["👍"], user="4400000000000000002")  # another reader's vote is their own
    votes = [v for v in store.votes() if v.answer_id == answer_id]
    assert sorted(v.choice for v in votes) == ["up", "up"] and len({v.user_hash for v in votes}) == 2
    assert {v.surface for v in votes} == {"discord"} and votes[0].question == "What did Matt Cox tell the Assembly?"


def test_forged_and_stale_feedback_buttons_get_a_private_notice(env: Env):
    store = env.desk_commands().feedback
    before = len(store.votes())
    for custom_id in ["storydesk_feedback:up:unknown-answer", "storydesk_feedback:sideways:abc", "evil", ""]:
        reply = click(env, custom_id)
        assert reply["type"] == 4 and reply["data"]["flags"] == 64, custom_id
        assert "ref" not in reply["data"]["content"] and "components" not in reply["data"]
    assert len(store.votes()) == before
    payload = command("ask")
    payload.update(type=3, data={"custom_id": ["x"]})
    assert send(env, payload).status_code == 400
