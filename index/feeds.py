"""Read an RSS or Atom feed into the links of its articles.

feedparser, the long-standing liberal parser for every RSS and Atom dialect (it copes with the
malformed feeds real newsrooms publish). It is handed the bytes that :func:`index.fetch.fetch`
brought back, wrapped in a stream: given a string, feedparser would itself fetch anything that
looks like a URL, outside the safe fetcher. The fetch is conditional (ETag / If-Modified-Since),
so an unchanged feed costs one 304. Sitemaps are not read.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import httpx

from index.fetch import FEED_TYPES, FetchPolicy, Page, fetch
from index.ingest import IngestError

MAX_ENTRIES = 100  # newest first in practice; a feed of thousands is an archive, not news


class FeedError(IngestError):
    """A document that is not a usable RSS or Atom feed."""


@dataclass(frozen=True)
class FeedEntry:
    """One article of a feed: its link, title and last-updated stamp (as the feed wrote it)."""

    link: str
    title: str = ""
    stamp: str = ""


@dataclass(frozen=True)
class Feed:
    """A fetched feed, or (``not_modified``) the news that it has not changed since the validators."""

    url: str
    title: str = ""
    entries: tuple[FeedEntry, ...] = ()
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False


def parse_feed(page: Page) -> Feed:
    """The entries of a fetched feed, links made absolute; non-http(s) links are dropped."""
    import feedparser

    parsed = feedparser.parse(io.BytesIO(page.body), response_headers={"content-location": page.url})
    if not parsed.get("version"):
        reason = parsed.get("bozo_exception")
        raise FeedError(f"{page.url}: not an RSS or Atom feed" + (f" ({reason})" if reason else ""))
    base = httpx.URL(page.url)
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    for entry in parsed.entries[:MAX_ENTRIES]:
        raw = str(entry.get("link") or "").strip()
        if not raw:
            continue
        try:
            link = str(base.join(raw))
        except (httpx.InvalidURL, ValueError):
            continue
        if not link.startswith(("http://", "https://")) or link in seen:
            continue
        seen.add(link)
        # dict.get: feedparser's own get maps a missing "updated" to "published" with a warning.
        stamp = str(dict.get(entry, "updated") or dict.get(entry, "published") or "")
        entries.append(FeedEntry(link, str(entry.get("title") or ""), stamp))
    title = str(parsed.feed.get("title") or "")
    return Feed(page.url, title, tuple(entries), page.etag, page.last_modified)


def fetch_feed(url: str, policy: FetchPolicy, *, etag: str = "", last_modified: str = "") -> Feed:
    """Fetch and parse the feed at ``url``; with validators, a 304 comes back as ``not_modified``."""
    page = fetch(url, policy, accept=FEED_TYPES, etag=etag, last_modified=last_modified)
    if page.not_modified:
        return Feed(url, etag=page.etag or etag, last_modified=page.last_modified or last_modified, not_modified=True)
    return parse_feed(page)
