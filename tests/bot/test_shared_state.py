"""Several hosts, one database (issue #15): event de-duplication and channel bindings in PostgreSQL,
two app instances answering every event exactly once, and a database that goes down and comes back.

Two hosts are tested twice: as two full HTTP apps (Starlette + uvicorn, each with its own Slack
surface, de-dup set and bindings objects) on two real ports in this process, quick enough for the
thorough burst; and as two real ``storydesk serve --http`` processes (each loads the model, about
10 s here), for what only separate processes show. The only state they share is the database.
Slack's side is the stub from ``slack_api_stub``; requests are signed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx
import psycopg
import pytest
from conftest import started_pg_server
from slack_api_stub import BOT_USER_ID, SlackAPIStub, free_port, running
from test_seen import race_for_one_key
from test_slack_http import (
    BOT_TOKEN,
    CHANNEL,
    COX,
    COX_WORDS,
    REPORTER,
    SECRET,
    STORY,
    event_body,
    mention,
    send,
    slash,
)

from bot.answer import Desk
from bot.bindings import PgBindings
from bot.seen import PgSeenKeys
from bot.server import create_http_app
from index.search import Searcher
from index.store import Store, StoreUnavailable
from index.store_copy import copy_index
from index.store_postgres import PostgresStore

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]


# --- de-duplication and bindings in the database ---------------------------------------------


def test_one_winner_per_key_across_threads_and_instances(pg_url):
    assert race_for_one_key(PgSeenKeys(pg_url), PgSeenKeys(pg_url)) == 1
    assert PgSeenKeys(pg_url).claim("event:EvRace") is False  # a restarted host sees it too
    expiring = PgSeenKeys(pg_url, ttl=0.0)
    assert expiring.claim("event:EvOld") and expiring.claim("event:EvOld")  # expired at once


def test_one_winner_per_key_across_processes(pg_url):
    code = ("import sys; from bot.seen import PgSeenKeys; s = PgSeenKeys(sys.argv[1]); "
            "print(s.claim('event:EvProc'))")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = [subprocess.Popen([sys.executable, "-c", code, pg_url], stdout=subprocess.PIPE, text=True, env=env)
                for _ in range(4)]
    outs = [c.communicate(timeout=120)[0].strip() for c in children]
    assert sorted(outs) == ["False", "False", "False", "True"]


def test_bindings_are_shared_between_instances(pg_url, monkeypatch):
    a, b = PgBindings(pg_url), PgBindings(pg_url)
    a.bind("slack:C1", STORY)
    assert b.channel_story("slack:C1") == STORY and b.story_for("slack:C1") == STORY
    b.remember_thread("slack:C1:1.0", "other-story")
    assert a.story_for("slack:C1", thread="slack:C1:1.0") == "other-story"  # the thread's, before the channel's
    assert a.story_for("slack:C2") is None and a.thread_story("slack:C1:9.9") is None
    monkeypatch.setattr("bot.bindings.MAX_THREADS", 2)
    for n in range(2, 5):
        a.remember_thread(f"slack:C1:{n}.0", STORY)
    assert a.thread_story("slack:C1:1.0") is None and a.thread_story("slack:C1:2.0") is None  # oldest forgotten
    assert a.thread_story("slack:C1:4.0") == STORY
    assert b.forget_story(STORY) is True and a.channel_story("slack:C1") is None
    assert b.forget_story(STORY) is False
    a.bind("slack:C1", "x")
    a.bind("slack:C1", None)
    assert b.channel_story("slack:C1") is None


# --- two hosts, one database -------------------------------------------------------------------


@pytest.fixture()
def pg_desk_url(pg_url, bundled_index):
    """A database holding the bundled story, copied from the session's folder (nothing re-embedded)."""
    copy_index(Store.open(bundled_index), PostgresStore.open(pg_url))
    return pg_url


def _instance(settings, embedder):
    desk = Desk(Searcher(PostgresStore.open(settings.database_url, timeout_s=settings.database_timeout_s), embedder))
    desk.searcher.state()
    return create_http_app(desk, settings)


def test_two_instances_on_one_database_post_every_answer_once(pg_desk_url, settings, embedder):
    with SlackAPIStub() as slack:
        config = replace(settings, slack_bot_token=BOT_TOKEN, slack_signing_secret=SECRET,
                         slack_api_url=slack.api_url, database_url=pg_desk_url)
        apps = [_instance(config, embedder), _instance(config, embedder)]
        with running(apps[0]) as url_a, running(apps[1]) as url_b:
            # A binding made through one host is seen by the other.
            assert slash(url_a, slack, f"use {STORY}").status_code == 200
            slack.wait_for(lambda r: r.method == "response_url")
            assert apps[1].state.slack.bindings.channel_story(f"slack:{CHANNEL}") == STORY

            posts = [f"1712345678.{900 + n:06d}" for n in range(6)]
            deliveries = []
            for n, ts in enumerate(posts):
                body = event_body(mention(COX, ts=ts), f"EvBurst{n}")
                retried = json.loads(body)
                retried["event_time"] += 1  # a redelivery: same event id, not the same bytes
                twin = {"type": "message", "channel_type": "channel", "channel": CHANNEL, "user": REPORTER,
                        "text": f"<@{BOT_USER_ID}> {COX}", "ts": ts}
                retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
                deliveries += [(url_a, body, None), (url_b, body, None), (url_b, body, retry),
                               (url_a, json.dumps(retried), retry), (url_b, event_body(twin, f"EvTwin{n}"), None)]
            with ThreadPoolExecutor(8) as pool:  # all at once, to both hosts
                codes = list(pool.map(lambda d: send(d[0], d[1], "application/json", extra=d[2]).status_code,
                                      deliveries))
            assert codes == [200] * len(deliveries)
            for app in apps:
                assert app.state.slack.wait_idle(120)
            answered = [r.body.get("thread_ts") for r in slack.messages(lambda r: r.method == "chat.postMessage")]
            assert sorted(answered) == sorted(posts)  # each post answered, and only once
            assert all(COX_WORDS in r.text for r in slack.messages(lambda r: r.method == "chat.postMessage"))
        for app in apps:
            app.state.slack.close()


def _serve(slack: SlackAPIStub, database_url: str, folder: Path) -> tuple[subprocess.Popen, str]:
    """``storydesk serve --http`` in a process of its own, against ``database_url``."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": slack.api_url, "SLACK_APP_TOKEN": "", "STORYDESK_DATABASE_URL": database_url,
           "STORYDESK_INDEX": str(folder), "STORYDESK_FEEDBACK_KEY": "shared-key", "STORYDESK_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--http", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    return proc, f"http://127.0.0.1:{port}"


def _ready(proc: subprocess.Popen, base: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"serve at {base} never became ready: {proc.stderr.read() if proc.poll() else ''}")


def test_two_serve_processes_on_one_database_post_every_answer_once(pg_desk_url, tmp_path):
    with SlackAPIStub() as slack:
        hosts = [_serve(slack, pg_desk_url, tmp_path / name) for name in ("a", "b")]
        try:
            for proc, base in hosts:
                _ready(proc, base)
            (_, url_a), (_, url_b) = hosts
            assert slash(url_a, slack, f"use {STORY}").status_code == 200  # bound through one host ...
            slack.wait_for(lambda r: r.method == "response_url")
            posts = [f"1712345678.{800 + n:06d}" for n in range(4)]
            deliveries = []
            for n, ts in enumerate(posts):  # ... asked through both: each event twice, plus a retry
                body = event_body(mention(COX, ts=ts), f"EvProc{n}")
                retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
                deliveries += [(url_a, body, None), (url_b, body, None), (url_a, body, retry)]
            with ThreadPoolExecutor(6) as pool:
                codes = list(pool.map(lambda d: send(d[0], d[1], "application/json", extra=d[2]).status_code,
                                      deliveries))
            assert codes == [200] * len(deliveries)
            # Each host answers on one worker, in order: once its own last question is answered,
            # everything it took before has been posted (or was never taken).
            for n, (_, base) in enumerate(hosts):
                assert send(base, event_body(mention(COX, ts=f"1712345679.{n:06d}"), f"EvLast{n}"),
                            "application/json").status_code == 200
            slack.wait_for(lambda r: r.method == "chat.postMessage", count=len(posts) + 2, timeout=180)
            for n in range(2):
                slack.wait_for(lambda r, n=n: r.method == "chat.postMessage"
                               and r.body.get("thread_ts") == f"1712345679.{n:06d}", timeout=180)
            answered = [r.body.get("thread_ts") for r in slack.messages(lambda r: r.method == "chat.postMessage")]
            assert sorted(answered) == sorted([*posts, "1712345679.000000", "1712345679.000001"])
            assert all(COX_WORDS in r.text for r in slack.messages(lambda r: r.method == "chat.postMessage"))
        finally:
            for proc, _ in hosts:
                proc.terminate()
            for proc, _ in hosts:
                proc.wait(30)


# --- the database goes down, and comes back ----------------------------------------------------


@pytest.fixture()
def own_pg_server(pg_server):
    """A server of this test's own, to stop and start without disturbing the session's."""
    with started_pg_server("storydesk-pg-down-") as server:
        yield server


def test_database_down_is_reported_and_service_resumes_by_itself(own_pg_server, bundled_index, settings, embedder):
    url = own_pg_server.get_uri()
    copy_index(Store.open(bundled_index), PostgresStore.open(url))
    with SlackAPIStub() as slack:
        config = replace(settings, slack_bot_token=BOT_TOKEN, slack_signing_secret=SECRET,
                         slack_api_url=slack.api_url, database_url=url, database_timeout_s=1.0)
        app = _instance(config, embedder)
        store = app.state.desk.searcher.store
        counts = store.counts()
        with running(app) as base:
            assert httpx.get(f"{base}/healthz").status_code == 200
            own_pg_server.stop()

            health = httpx.get(f"{base}/healthz", timeout=30)
            assert health.status_code == 503 and health.json()["ready"] is False
            refused = slash(base, slack, COX)  # the asker hears why, privately, at once
            assert refused.status_code == 200 and refused.json()["response_type"] == "ephemeral"
            assert refused.json()["text"].startswith("The desk is unavailable right now (ref ")
            event = send(base, event_body(mention(COX, ts="1712345678.999001"), "EvDown1"), "application/json")
            assert event.status_code == 503  # Slack delivers it again later
            with pytest.raises(StoreUnavailable):
                store.write([], remove=[STORY], model=embedder.info)
            assert slack.messages(lambda r: r.method == "chat.postMessage") == []

            own_pg_server.start()
            assert own_pg_server.get_uri() == url
            deadline = time.monotonic() + 60  # a guard: the pool reconnects with a back-off
            while httpx.get(f"{base}/healthz", timeout=30).status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert httpx.get(f"{base}/healthz", timeout=30).status_code == 200
            assert store.counts() == counts  # nothing was half-written, nothing lost
            assert slash(base, slack, COX).status_code == 200
            [reply] = slack.wait_for(lambda r: r.method == "response_url")
            assert COX_WORDS in reply.text
            assert app.state.slack.wait_idle(60)
        app.state.slack.close()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM stories").fetchone()[0] == 1


# --- feedback and followed feeds in the database ----------------------------------------------


def test_feedback_in_the_database_one_vote_per_reader_across_hosts(pg_url, capsys, monkeypatch):
    from test_feedback import COX, COX_EXCERPT, answer

    from bot.cli import main
    from bot.feedback import PgFeedbackStore, UnknownAnswer, training_rows

    host_a, host_b = PgFeedbackStore(pg_url, key=b"shared key"), PgFeedbackStore(pg_url, key=b"shared key")
    answer_id = host_a.remember(answer(), "slack")
    host_b.record(answer_id, "down", surface="slack", user="U0REPORTER")  # the vote lands on the other host
    host_a.record(answer_id, "wrong_speaker", surface="slack", user="U0REPORTER")  # and is changed on this one
    host_b.record(answer_id, "up", surface="discord", user="4400")
    [first, second] = host_a.votes()
    assert (first.choice, second.choice) == ("wrong_speaker", "up") and host_b.votes() == host_a.votes()
    assert first.question == COX and first.shown[0].paragraphs == (16,) and first.shown[0].excerpt == COX_EXCERPT
    with pytest.raises(UnknownAnswer):
        host_a.record("made-up-id", "up", surface="slack", user="U1")
    with pytest.raises(ValueError):
        host_a.record(answer_id, "'; DROP TABLE feedback_votes; --", surface="slack", user="U1")
    assert len(host_b.votes()) == 2 and host_b.votes(since=second.at + 1) == []
    with psycopg.connect(pg_url) as conn:  # no user id is stored, only the keyed hash
        stored = conn.execute("SELECT string_agg(user_hash, ' ') FROM feedback_votes").fetchone()[0]
    assert "U0REPORTER" not in stored and "4400" not in stored
    monkeypatch.setenv("STORYDESK_FEEDBACK_KEY", "shared key")
    assert main(["feedback", "--database", pg_url, "--json"]) == 0  # the command line reads the same tables
    assert [json.loads(line)["choice"] for line in capsys.readouterr().out.splitlines()] == ["wrong_speaker", "up"]
    rows, skipped = training_rows(host_b.votes())
    assert skipped == 1 and rows == [{"story": STORY, "question": COX, "gold": [COX_EXCERPT], "kind": "feedback",
                                      "writer": "feedback"}]


def test_followed_feeds_in_the_database_are_shared(pg_url, monkeypatch, capsys):
    from bot.cli import main
    from bot.follows import FollowError, PgFollows

    a, b = PgFollows(pg_url), PgFollows(pg_url)
    assert main(["follow", "--database", pg_url, "--list"]) == 0
    assert "No feeds followed" in capsys.readouterr().out
    assert a.add("https://example.org/news.rss", "Example") is True
    assert b.add("https://example.org/news.rss", "Example News") is False  # followed already: title refreshed
    [feed] = b.list()
    assert (feed.url, feed.title, feed.failures) == ("https://example.org/news.rss", "Example News", 0)
    a.record_failure(feed.url, "timed out", at=100.0)
    a.record_failure(feed.url, "timed out again", at=200.0)
    assert (b.get(feed.url).failures, b.get(feed.url).last_error, b.get(feed.url).checked_at) == (
        2, "timed out again", 200.0)
    assert main(["follow", "--database", pg_url, "--list"]) == 0  # the command line reads the same table
    assert capsys.readouterr().out.startswith("https://example.org/news.rss  Example News  failing (2 in a row)")
    b.record_success(feed.url, etag='"e1"', last_modified="Mon, 01 Dec 2026 08:00:00 GMT", at=300.0)
    got = a.get(feed.url)
    assert (got.failures, got.etag, got.ok_at) == (0, '"e1"', 300.0)
    a.remember_entries(feed.url, {"https://example.org/a": "s1", "https://example.org/b": "s1"})
    b.remember_entries(feed.url, {"https://example.org/a": "s2"})
    assert a.entry_stamps(feed.url) == {"https://example.org/a": "s2", "https://example.org/b": "s1"}
    monkeypatch.setattr("bot.follows.MAX_FOLLOWS", 1)
    with pytest.raises(FollowError, match="limit"):
        a.add("https://example.org/other.rss")
    assert b.remove(feed.url) is True and b.remove(feed.url) is False
    assert a.list() == [] and a.get(feed.url) is None and a.entry_stamps(feed.url) == {}
    b.remember_entries(feed.url, {"https://example.org/a": "s3"})  # removed meanwhile: nothing recorded
    assert a.entry_stamps(feed.url) == {}
