"""/story add and /story follow, platform-neutral: a real desk, a real loopback site, real writes."""

from __future__ import annotations

import shutil

import pytest
from site_stub import Route, article

from bot.answer import Desk
from bot.follows import Follows
from bot.story_links import StoryLinks
from index.fetch import FetchPolicy
from index.search import Searcher
from index.store import Store

LOOPBACK = FetchPolicy(allow_hosts=frozenset({"127.0.0.1"}))
ZOO = ["Keepers at Chester Zoo say a baby Sumatran orangutan was born on Sunday to mother Subis.",
       "The zoo's head of primates, Chris Yarwood, said the birth was a boost for a critically endangered species."]


@pytest.fixture()
def links(tmp_path, bundled_index, embedder, site):
    site.routes.update({
        "/s/orangutan.html": Route(article("Rare orangutan born at Chester Zoo", ZOO, byline="Lee Moss")),
        "/s/tv.html": Route(b"<html><body><nav>Home</nav></body></html>"),
        "/s/feed.xml": Route(b"<?xml version='1.0'?><rss version='2.0'><channel><title>Zoo news</title>"
                             b"<item><link>/s/orangutan.html</link></item></channel></rss>",
                             content_type="application/rss+xml"),
    })
    root = tmp_path / "index"
    shutil.copytree(bundled_index, root)
    searcher = Searcher(Store.open(root), embedder)
    searcher.state()
    follows = Follows.in_folder(root)
    yield StoryLinks(Desk(searcher), LOOPBACK, follows)
    follows.close()


def test_add_then_ask_then_add_again_unchanged_then_replaced(links, site):
    url = site.url("/s/orangutan.html")
    assert links.add(url) == ("Added “Rare orangutan born at Chester Zoo” as `orangutan` (2 paragraphs). "
                              "Ask away, or `/story use orangutan` here.")
    answer = links.desk.ask("Who is the zoo's head of primates?")
    assert answer.found and answer.hits[0].story == "orangutan" and answer.hits[0].url == url
    assert "Chris Yarwood" in answer.hits[0].excerpt
    assert links.add(url) == ("“Rare orangutan born at Chester Zoo” is already on the desk as `orangutan` "
                              "(2 paragraphs), unchanged.")
    changed = article("Rare orangutan born at Chester Zoo", [*ZOO, "She is doing well."])
    site.routes["/s/orangutan.html"] = Route(changed)
    assert links.add(url).startswith("Updated “Rare orangutan born at Chester Zoo” (`orangutan`, 3 paragraphs)")


@pytest.mark.parametrize("path, words", [
    ("/s/tv.html", "no article text found on the page"),
    ("/s/feed.xml", "application/rss+xml, not an HTML page"),
    ("/s/missing.html", "HTTP 404"),
])
def test_refused_links_say_why_and_index_nothing(links, site, path, words):
    store = links.desk.searcher.store
    generation = store.generation()
    with pytest.raises(ValueError, match="Could not add") as caught:
        links.add(site.url(path))
    assert words in str(caught.value)
    assert store.generation() == generation


def test_a_private_address_is_refused(links, site):
    links.policy = FetchPolicy()
    with pytest.raises(ValueError, match="private or local network address"):
        links.add(site.url("/s/orangutan.html"))
    with pytest.raises(ValueError, match="only http:// and https://"):
        links.add("file:///etc/passwd")


def test_follow_a_feed_once(links, site):
    url = site.url("/s/feed.xml")
    assert links.follow(url) == ("Following “Zoo news” (1 article now): its new and updated articles are added "
                                 "every 10 minutes.")
    assert links.follow(url) == "Already following “Zoo news”."
    assert [f.url for f in links.follows.list()] == [url]
    with pytest.raises(ValueError, match="text/html, not an RSS or Atom feed"):
        links.follow(site.url("/s/orangutan.html"))
