"""A story from a link: fetch (:mod:`index.fetch`) -> extract -> :class:`~index.models.Story` -> index.

Extraction is trafilatura through :func:`index.ingest.parse_html`, the same code that reads
``.html`` files, so a page and its saved copy become the same story: headline, byline, date, and
the canonical URL (``<link rel="canonical">`` / ``og:url``) kept as the story's ``url``. A
canonical link on another host is ignored (a page cannot claim to be someone else's story and
replace it); the address after redirects is used instead.

The story id is read off the link ("/news/2026/pier-closure.html" -> ``pier-closure``), so the same
link always lands on the same story and re-adding a changed page replaces it. A link already on
the desk keeps the id it has; an id already used by another link gets a short hash of the link.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

import httpx

from index.embed import Embedder
from index.fetch import FetchPolicy, Page, fetch
from index.indexer import IngestReport, ingest
from index.ingest import IngestError, build_story, parse_html
from index.models import Story
from index.store import IndexStore

Outcome = Literal["added", "replaced", "unchanged"]
_PAGE_SUFFIX = re.compile(r"\.(s?html?|php|aspx?|jsp)$", re.IGNORECASE)


@dataclass(frozen=True)
class Added:
    """What adding one story did: ``outcome`` is added, replaced (the page changed) or unchanged."""

    story: Story
    outcome: Outcome


def story_id_for(link: str, taken: Mapping[str, str]) -> str:
    """The id for the story at ``link``, given the desk's ``taken`` ids (id -> link)."""
    for sid, known in taken.items():
        if known == link:
            return sid
    parsed = httpx.URL(link)
    segments = [s for s in parsed.path.split("/") if s]
    stem = _PAGE_SUFFIX.sub("", unquote(segments[-1])) if segments else parsed.host
    slug = re.sub(r"[^\w.-]+", "-", stem).strip("-._")[:80].strip("-._") or "page"
    if slug in taken:
        slug = f"{slug}-{hashlib.sha256(link.encode()).hexdigest()[:8]}"
    return slug


def _same_site(a: str, b: str) -> bool:
    def host(url: str) -> str:
        return httpx.URL(url).host.lower().removeprefix("www.")

    return host(a) == host(b)


def canonical_link(page_url: str, declared: str) -> str:
    """The page's canonical URL when it declares a usable one on its own site, else where it was fetched."""
    if not declared:
        return page_url
    try:
        link = str(httpx.URL(page_url).join(declared.strip()))
    except (httpx.InvalidURL, ValueError):
        return page_url
    return link if link.startswith(("http://", "https://")) and _same_site(link, page_url) else page_url


def story_from_page(page: Page, *, story_id: str | None = None, taken: Mapping[str, str] | None = None) -> Story:
    """The story of a fetched HTML page. Raises :class:`IngestError` when it has no article text."""
    try:
        clean, date, declared = parse_html(page.text())
    except IngestError:  # no body at all, or nothing left once navigation and furniture are cleaned
        raise IngestError("no article text found on the page") from None
    link = canonical_link(page.url, declared)
    return build_story(clean, story_id or story_id_for(link, taken or {}), url=link, date=date, source=page.url)


def load_page(url: str, policy: FetchPolicy, *, story_id: str | None = None,
              taken: Mapping[str, str] | None = None) -> Story:
    """Fetch ``url`` and extract its story (``FetchError`` or ``IngestError`` on refusal; both ValueError)."""
    return story_from_page(fetch(url, policy), story_id=story_id, taken=taken)


def desk_links(store: IndexStore) -> dict[str, str]:
    """id -> link of the stories on the desk, what :func:`story_id_for` needs."""
    return {info.id: info.url for info in store.list_stories()}


def outcome(report: IngestReport, story_id: str) -> Outcome:
    """What an ingest did to one story."""
    if story_id in report.added:
        return "added"
    return "replaced" if story_id in report.replaced else "unchanged"


def add_page(store: IndexStore, embedder: Embedder, url: str, policy: FetchPolicy,
             *, story_id: str | None = None) -> Added:
    """Fetch, extract and index the story at ``url``. Nothing is indexed when it is refused."""
    story = load_page(url, policy, story_id=story_id, taken=desk_links(store))
    report = ingest(store, embedder, [story])
    return Added(story, outcome(report, story.id))
