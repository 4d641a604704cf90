"""Following feeds: the CLI, the poller against a real loopback site (RSS and Atom, conditional
requests, updates, failures with backoff), /healthz on a real server, and answers during a rebuild."""

from __future__ import annotations

import shutil
import threading
import time

import httpx
import numpy as np
import pytest
from site_stub import Route, article
from slack_api_stub import running

from bot.answer import Desk
from bot.cli import main
from bot.follows import Follows
from bot.metrics import Metrics
from bot.poller import RETRY_FIRST_S, FeedPoller, next_poll
from bot.server import create_http_app
from index.fetch import FetchPolicy
from index.search import Searcher
from index.store import Store

LOOPBACK = FetchPolicy(allow_hosts=frozenset({"127.0.0.1"}))
RSS_DATE = "Tue, 01 Dec 2026 08:00:00 GMT"


def rss(site, items: list[tuple[str, str]]) -> bytes:
    body = "".join(f"<item><title>{path}</title><link>{site.url(path)}</link><pubDate>{stamp}</pubDate></item>"
                   for path, stamp in items)
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Gazette</title>{body}</channel></rss>".encode()


def atom(site, items: list[tuple[str, str]]) -> bytes:
    body = "".join(f"<entry><title>{path}</title><id>{path}</id><link href='{site.url(path)}'/>"
                   f"<updated>{stamp}</updated></entry>" for path, stamp in items)
    return (f"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>Courier</title>"
            f"<updated>2026-12-01T08:00:00Z</updated>{body}</feed>").encode()


LIBRARY = ["The central library will open on Sundays from January, the council announced.",
           "Opening hours will run from 10am to 4pm, paid for by cutting the mobile library van."]
BUSES = ["Night buses on route N29 will run every ten minutes from next month, Transport for London said.",
         "The change follows a petition signed by 4,000 hospitality workers."]
MARKET = ["The Christmas market returns to Albert Square on Friday with 80 stalls.",
          "Traders say rents for a stall have doubled to £6,000 for the season."]


@pytest.fixture()
def feeds(site):
    site.routes.update({
        "/p/library.html": Route(article("Library to open on Sundays", LIBRARY)),
        "/p/buses.html": Route(article("Night buses every ten minutes", BUSES)),
        "/p/market.html": Route(article("Christmas market returns", MARKET)),
        "/p/gallery.jpg": Route(b"\xff\xd8", content_type="image/jpeg"),
        "/p/news.rss": Route(rss(site, [("/p/library.html", RSS_DATE), ("/p/gallery.jpg", RSS_DATE)]),
                             content_type="application/rss+xml; charset=utf-8", etag='"r1"'),
        "/p/courier.atom": Route(atom(site, [("/p/buses.html", "2026-12-01T08:00:00Z")]),
                                 content_type="application/atom+xml", last_modified=RSS_DATE),
    })
    return site


@pytest.fixture()
def index(tmp_path, bundled_index):
    root = tmp_path / "index"
    shutil.copytree(bundled_index, root)
    return root


@pytest.fixture()
def clock():
    now = [1_800_000_000.0]
    return now


@pytest.fixture()
def poller(index, embedder, clock):
    follows = Follows.in_folder(index)
    poller = FeedPoller(follows, Store.open(index), embedder, LOOPBACK, every_s=600, clock=lambda: clock[0])
    yield poller
    follows.close()


def sent_headers(site, path):
    return [headers for p, headers in site.requests if p == path]


def test_follow_list_and_remove_on_the_command_line(capsys, feeds, index, monkeypatch):
    monkeypatch.setenv("STORYDESK_FETCH_ALLOW_HOSTS", "127.0.0.1")
    url = feeds.url("/p/news.rss")
    assert main(["follow", "--index", str(index), "--list"]) == 0
    assert "No feeds followed" in capsys.readouterr().out
    assert main(["follow", "--index", str(index), url]) == 0
    assert "Following Gazette (2 articles now); storydesk serve checks it every 10 minutes" in capsys.readouterr().out
    assert main(["follow", "--index", str(index), url]) == 0
    assert "Already following Gazette" in capsys.readouterr().out
    assert main(["follow", "--index", str(index), "--list"]) == 0
    assert capsys.readouterr().out == f"{url}  Gazette  not checked yet\n"
    assert main(["follow", "--index", str(index), feeds.url("/p/library.html")]) == 2
    assert "text/html, not an RSS or Atom feed" in capsys.readouterr().err
    assert main(["follow", "--index", str(index), "--remove", url]) == 0
    assert "Stopped following" in capsys.readouterr().out
    assert main(["follow", "--index", str(index), "--remove", url]) == 2
    assert "not following" in capsys.readouterr().err
    assert Follows.in_folder(index).list() == []


def test_polls_add_new_articles_skip_unchanged_feeds_and_reindex_updated_articles(feeds, poller, clock, index):
    rss_url, atom_url = feeds.url("/p/news.rss"), feeds.url("/p/courier.atom")
    poller.follows.add(rss_url, "Gazette")
    poller.follows.add(atom_url, "Courier")
    first = {r.url: r for r in poller.poll_due()}
    assert first[rss_url].added == ["library"] and first[atom_url].added == ["buses"]
    assert "image/jpeg" in first[rss_url].failed[0]  # the gallery is skipped, the rest indexed
    stories = {s.id: s for s in Store.open(index).list_stories()}
    assert stories["library"].url == feeds.url("/p/library.html") and stories["buses"].paragraphs == 2

    # Not due yet; then due, and both feeds answer 304 to the validators they sent.
    clock[0] += 60
    assert poller.poll_due() == []
    clock[0] += 600
    again = poller.poll_due()
    assert [r.not_modified for r in again] == [True, True]
    assert sent_headers(feeds, "/p/news.rss")[-1]["if-none-match"] == '"r1"'
    assert sent_headers(feeds, "/p/courier.atom")[-1]["if-modified-since"] == RSS_DATE

    # The feed changes: a new article, and the library story updated (new stamp, new text).
    feeds.routes["/p/library.html"] = Route(article("Library to open on Sundays and Mondays",
                                                    [*LIBRARY, "Mondays will follow in March."]))
    feeds.routes["/p/news.rss"] = Route(
        rss(feeds, [("/p/library.html", "Tue, 01 Dec 2026 12:00:00 GMT"), ("/p/gallery.jpg", RSS_DATE),
                    ("/p/market.html", RSS_DATE)]),
        content_type="application/rss+xml", etag='"r2"')
    fetched_before = len(sent_headers(feeds, "/p/gallery.jpg"))
    clock[0] += 600
    changed = {r.url: r for r in poller.poll_due()}
    assert (changed[rss_url].added, changed[rss_url].replaced) == (["market"], ["library"])
    assert len(sent_headers(feeds, "/p/gallery.jpg")) == fetched_before  # its stamp did not change
    stories = {s.id: s for s in Store.open(index).list_stories()}
    assert stories["library"].paragraphs == 3 and "market" in stories


def test_a_failing_feed_backs_off_shows_in_health_and_recovers(feeds, poller, clock):
    poller.metrics = Metrics()
    sample = poller.metrics.registry.get_sample_value
    url = feeds.url("/p/flaky.rss")
    poller.follows.add(url, "Flaky")
    clock[0] += 30
    report = poller.poll(url)
    assert "HTTP 404" in report.error
    assert sample("storydesk_fetch_failures_total", {"reason": "http_status"}) == 1
    assert sample("storydesk_feed_lag_seconds", {"feed": url}) >= 30  # never read since it was followed
    feed = poller.follows.get(url)
    assert feed.failures == 1 and next_poll(feed, 600) == clock[0] + RETRY_FIRST_S
    health = poller.health()
    assert health["failing"] == [{"url": url, "error": report.error, "failures": 1, "retry_in_s": 60}]
    feeds.routes["/p/flaky.rss"] = Route(b"<html>not a feed</html>", content_type="application/xml")
    clock[0] += RETRY_FIRST_S
    assert "not an RSS or Atom feed" in poller.poll_due()[0].error
    assert next_poll(poller.follows.get(url), 600) == clock[0] + 4 * RETRY_FIRST_S  # backing off
    feeds.routes["/p/flaky.rss"] = Route(rss(feeds, [("/p/market.html", RSS_DATE)]), content_type="text/xml")
    clock[0] += 4 * RETRY_FIRST_S
    assert poller.poll_due()[0].added == ["market"]
    assert poller.health()["failing"] == [] and poller.follows.get(url).failures == 0
    assert sample("storydesk_fetch_failures_total", {"reason": "not_a_feed"}) == 1
    assert sample("storydesk_ingests_total", {"result": "added"}) == 1
    assert sample("storydesk_feed_lag_seconds", {"feed": url}) == 0


def test_healthz_reports_followed_and_failing_feeds(feeds, poller, desk, settings, index):
    url = feeds.url("/p/gone.rss")
    poller.follows.add(url, "Gone")
    poller.poll(url)
    app = create_http_app(desk, settings, poller=poller)
    with running(app) as base:
        response = httpx.get(base + "/healthz")
    assert response.status_code == 200  # a failing feed is reported, not a reason to take the desk out
    report = response.json()
    assert report["ready"] is True and report["feeds"]["followed"] == 1
    assert report["feeds"]["failing"][0]["url"] == url and "HTTP 404" in report["feeds"]["failing"][0]["error"]


def test_the_poller_thread_starts_polls_and_stops(feeds, poller):
    poller.follows.add(feeds.url("/p/courier.atom"), "Courier")
    poller.start()
    assert poller.wait_rounds(1, timeout=60)
    poller.stop()
    assert not poller._thread.is_alive()
    assert poller.follows.get(feeds.url("/p/courier.atom")).checked_at > 0


def test_questions_answer_from_the_current_state_while_a_new_one_is_built(index, embedder):
    searcher = Searcher(Store.open(index), embedder)
    before = searcher.state()
    store = Store.open(index)
    store.write([], remove=[], model=store.model_info())
    with searcher._state_lock:  # another thread is building the new generation's state
        assert searcher.state() is before  # answered from what it has, without waiting
    assert searcher.state() is not before  # the next question picks up the new generation
    assert Desk(searcher).ask("Who called the decision catastrophic?").found


def test_a_question_is_encoded_between_the_batches_of_a_long_ingest_encode(embedder):
    """The model is locked per batch, so a feed's articles being embedded never hold a question up
    for more than one batch: the question's vector is ready while the long encode is still running."""
    texts = [f"Sentence {i} about the council's budget." for i in range(600)]
    started = threading.Event()
    done = threading.Event()

    def long_encode() -> None:
        started.set()
        embedder.encode(texts, batch_size=1)
        done.set()

    worker = threading.Thread(target=long_encode)
    worker.start()
    started.wait()
    while not embedder._lock.locked():
        time.sleep(0.001)
    question = embedder.encode(["Who called the decision catastrophic?"])
    finished_first = not done.is_set()
    worker.join()
    assert finished_first
    assert np.allclose(question, embedder.encode(["Who called the decision catastrophic?"]), atol=1e-5)
