"""``/story add <url>`` and ``/story follow <url>`` for every chat surface, written once.

The rows of :data:`bot.commands.COMMANDS` call these. Each returns the sentence the asker sees
(privately), or raises ``ValueError`` whose message says why the link was refused (nothing is
indexed then). The work is the same as on the command line: :func:`index.pages.add_page` through
the safe fetcher, and :func:`bot.follows.follow_feed`. Adding embeds with the desk's model, which
is locked per batch, so questions keep being answered meanwhile, then warms the desk's search
state so the next question already sees the story. A feed followed here is polled by
``storydesk serve``'s poller on its next look (within :data:`bot.poller.TICK_S`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.follows import Follows, follow_feed, open_follows
from bot.poller import failure_reason

if TYPE_CHECKING:
    from bot.metrics import Metrics
    from bot.settings import Settings
    from index.fetch import FetchPolicy


def count(n: int, noun: str) -> str:
    """"1 article", "3 articles"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


@dataclass
class StoryLinks:
    """Adds stories from links and follows feeds for chat users; safe to share between threads."""

    desk: Any
    policy: FetchPolicy
    follows: Follows
    follow_minutes: float = 10.0

    @classmethod
    def for_desk(cls, desk: Any, settings: Settings) -> StoryLinks:
        return cls(desk, settings.fetch_policy(), open_follows(settings), settings.follow_minutes)

    def add(self, url: str, metrics: Metrics | None = None) -> str:
        """Fetch, extract and index the story at ``url``; what happened, in a sentence."""
        from bot.commands import code
        from index.pages import add_page

        searcher = self.desk.searcher
        try:
            added = add_page(searcher.store, searcher.embedder, url.strip(), self.policy)
        except ValueError as exc:  # FetchError, IngestError: the reason is written for the reporter
            if metrics is not None:
                metrics.fetch_failures.labels(reason=failure_reason(exc)).inc()
                metrics.ingests.labels(result="failed").inc()
            raise ValueError(f"Could not add {code(url)}: {exc}.") from None
        if metrics is not None:
            metrics.ingests.labels(result=added.outcome).inc()
        searcher.state()  # build the new generation's search state now, not on the next question
        story = added.story
        headline = story.headline.replace("`", "'")
        size = count(len(story.paragraphs), "paragraph")
        if added.outcome == "unchanged":
            return f"“{headline}” is already on the desk as `{story.id}` ({size}), unchanged."
        if added.outcome == "replaced":
            return f"Updated “{headline}” (`{story.id}`, {size}): the page had changed, so the story was replaced."
        return f"Added “{headline}” as `{story.id}` ({size}). Ask away, or `/story use {story.id}` here."

    def follow(self, url: str) -> str:
        """Follow the RSS or Atom feed at ``url``."""
        from bot.commands import code

        try:
            feed, new = follow_feed(self.follows, url.strip(), self.policy)
        except ValueError as exc:  # FetchError, FeedError, FollowError
            raise ValueError(f"Could not follow {code(url)}: {exc}.") from None
        name = f"“{feed.title.replace('`', chr(39))}”" if feed.title else code(feed.url)
        if not new:
            return f"Already following {name}."
        articles = count(len(feed.entries), "article")
        return (f"Following {name} ({articles} now): its new and updated articles are added every "
                f"{self.follow_minutes:g} minutes.")
