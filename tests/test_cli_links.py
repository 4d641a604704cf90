"""``storydesk ingest URL``: pages and feeds from a real loopback server, with progress and a summary."""

from __future__ import annotations

import io
import json

import pytest
from site_stub import Route, article
from test_cli import index, loads, run, state  # noqa: F401 (fixtures shared with the file tests)

from bot.progress import IngestProgress
from index.store import Store

PIER = [
    "Councillors voted on Monday to close Southport pier for two years while its rotten decking is replaced.",
    "The repairs will cost £4.2 million, most of it from a government levelling-up grant.",
    "“We had no choice: the pier was no longer safe,” said council leader Marion Atkinson.",
]


def rss(items: list[tuple[str, str]]) -> bytes:
    body = "".join(f"<item><title>{t}</title><link>{link}</link><pubDate>Tue, 01 Dec 2026 09:00:00 GMT</pubDate></item>"
                   for t, link in items)
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Gazette</title>{body}</channel></rss>".encode()


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch):
    monkeypatch.setenv("STORYDESK_FETCH_ALLOW_HOSTS", "127.0.0.1")


@pytest.fixture()
def pages(site):
    pier = article("Southport pier to close for two years", PIER, byline="Ann Reed", date="2026-12-01",
                   canonical=site.url("/news/2026/pier-closure"))
    site.routes.update({
        "/c/pier.html?utm_source=chat": Route(pier),
        "/c/pier-closure": Route(pier),
        "/c/ferry.html": Route(article("Ferry fares frozen", [
            "Ferry fares across the Mersey will stay at £3 until April, the transport authority said.",
            "Commuters had feared a rise of a third after fuel costs climbed."])),
        "/c/empty.html": Route(b"<html><head><title>Nothing</title></head><body><nav>Home</nav></body></html>"),
        "/c/photo.jpg": Route(b"\xff\xd8\xff", content_type="image/jpeg"),
        "/c/huge.html": Route(stream_bytes=6 * 1024 * 1024),
        "/c/loop": Route(status=302, headers={"Location": "/c/loop"}),
    })
    site.routes["/c/feed.rss"] = Route(rss([("Pier", site.url("/c/pier-closure")), ("Ferry", site.url("/c/ferry.html")),
                                            ("Photo", site.url("/c/photo.jpg"))]), content_type="application/rss+xml")
    return site


def test_a_link_becomes_a_story_with_its_canonical_url_and_is_answered_from(capsys, index, pages):
    code, out, err = run(capsys, "ingest", "--index", str(index), pages.url("/c/pier.html?utm_source=chat"))
    assert code == 0 and err == "" and "Indexed 1 new, 0 replaced, 0 unchanged, 0 failed" in out
    canonical = pages.url("/news/2026/pier-closure")
    info = {s.id: s for s in Store.open(index).list_stories()}["pier-closure"]
    assert (info.headline, info.url, info.paragraphs) == ("Southport pier to close for two years", canonical, 3)
    assert info.byline == "Ann Reed" and info.date.startswith("2026-12-01")
    code, out, _ = run(capsys, "ask", "--index", str(index), "--json", "How much will the pier repairs cost?")
    best = json.loads(out)["answers"][0]
    assert best["story"] == "pier-closure" and "£4.2 million" in best["excerpt"] and best["url"] == canonical


def test_re_adding_says_unchanged_then_replaced_when_the_page_changed(capsys, index, pages):
    link = pages.url("/c/pier.html?utm_source=chat")
    run(capsys, "ingest", "--index", str(index), link)
    generation = Store.open(index).generation()
    code, out, _ = run(capsys, "ingest", "--index", str(index), pages.url("/c/pier-closure"))
    assert code == 0 and "0 new, 0 replaced, 1 unchanged" in out  # another address of the same page
    assert Store.open(index).generation() == generation
    updated = article("Southport pier to close for three years", [*PIER, "The council now expects three years."],
                      canonical=pages.url("/news/2026/pier-closure"))
    pages.routes["/c/pier.html?utm_source=chat"] = Route(updated)
    code, out, _ = run(capsys, "ingest", "--index", str(index), link)
    assert code == 0 and "0 new, 1 replaced, 0 unchanged" in out
    stories = {s.id: s for s in Store.open(index).list_stories()}
    assert stories["pier-closure"].paragraphs == 4 and len(stories) == 2


@pytest.mark.parametrize("path, words", [
    ("/c/photo.jpg", "image/jpeg, not an HTML page"),
    ("/c/huge.html", "larger than the 5.24288 MB limit"),
    ("/c/loop", "redirects more than 5 times"),
    ("/c/empty.html", "no article text"),
    ("/c/missing.html", "HTTP 404"),
])
def test_refused_links_index_nothing(capsys, index, pages, path, words):
    before = state(index)
    code, out, err = run(capsys, "ingest", "--index", str(index), pages.url(path))
    assert code == 2 and words in err and "Nothing was ingested" in err and "Indexed" not in out
    assert state(index) == before


def test_a_loopback_link_is_refused_when_its_host_is_not_allowed(capsys, index, pages, monkeypatch):
    monkeypatch.setenv("STORYDESK_FETCH_ALLOW_HOSTS", "")
    before = state(index)
    code, _, err = run(capsys, "ingest", "--index", str(index), pages.url("/c/ferry.html"))
    assert code == 2 and "private or local network address" in err
    assert state(index) == before


def test_a_feed_and_a_file_mixed_show_plain_progress_lines_and_a_summary(capsys, index, pages, tmp_path):
    note = tmp_path / "zoo.txt"
    note.write_text("Zoo welcomes twin red panda cubs\n\nKeepers say the twin red panda cubs are doing well.\n")
    code, out, err = run(capsys, "ingest", "--index", str(index), str(note), pages.url("/c/feed.rss"))
    lines = out.splitlines()
    assert "[1/2] reading " + str(note) in lines  # not a terminal: one plain line per step
    assert any(line.startswith("[2/5] reading http://127.0.0.1") for line in lines)  # the feed's 3 articles joined
    assert any(line.startswith("[3/3] indexing") for line in lines)
    assert "Indexed 3 new, 0 replaced, 0 unchanged, 1 failed in" in lines[-1]
    assert "skipped: " in err and "image/jpeg" in err  # the feed's photo, skipped without holding back the rest
    assert code == 0
    assert {"zoo", "pier-closure", "ferry"} <= {s.id for s in Store.open(index).list_stories()}


def test_a_terminal_gets_a_rich_progress_bar():
    screen = io.StringIO()
    progress = IngestProgress(screen, terminal=True)
    progress.phase("indexing", 4)
    for name in "abcd":
        progress.step(f"story-{name}")
    assert progress.close() >= 0
    drawn = screen.getvalue()
    assert "indexing" in drawn and "4/4" in drawn and "━" in drawn and "[1/4]" not in drawn
