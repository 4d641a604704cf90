"""``/story add <url>`` and ``/story follow <url>`` for every chat surface, written once.

Platform-neutral like :mod:`bot.commands`: each returns the sentence the asker sees (privately),
or raises ``ValueError`` whose message says why the link was refused (nothing is indexed then).
The work is the same as on the command line: :func:`index.pages.add_page` through the safe
fetcher, and :func:`bot.follows.follow_feed`. Adding embeds through the poller's
:class:`~bot.poller.SlicedEmbedder`, so questions keep being answered meanwhile, then warms the
desk's search state so the next question already sees the story.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.follows import Follows, follow_feed
from bot.poller import SlicedEmbedder

if TYPE_CHECKING:
    from bot.poller import FeedPoller
    from bot.settings import Settings
    from index.fetch import FetchPolicy


def link_text(url: str) -> str:
    """``url`` as a code span for a chat message: one line, no backticks, at most 100 characters."""
    return "`" + " ".join(url.replace("`", "'").split())[:100] + "`"


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
    poller: FeedPoller | None = None

    @classmethod
    def for_desk(cls, desk: Any, settings: Settings, poller: FeedPoller | None = None) -> StoryLinks:
        return cls(desk, settings.fetch_policy(), Follows.in_folder(settings.index_dir), settings.follow_minutes,
                   poller)

    def add(self, url: str) -> str:
        """Fetch, extract and index the story at ``url``; what happened, in a sentence."""
        from index.pages import add_page

        searcher = self.desk.searcher
        try:
            added = add_page(searcher.store, SlicedEmbedder(searcher.embedder), url.strip(), self.policy)
        except ValueError as exc:  # FetchError, IngestError: the reason is written for the reporter
            raise ValueError(f"Could not add {link_text(url)}: {exc}.") from None
        searcher.state()  # build the new generation's search state now, not on the next question
        story = added.story
        size = count(len(story.paragraphs), "paragraph")
        if added.outcome == "unchanged":
            return f"“{story.headline}” is already on the desk as `{story.id}` ({size}), unchanged."
        if added.outcome == "replaced":
            return (f"Updated “{story.headline}” (`{story.id}`, {size}): the page had changed, "
                    "so the story was replaced.")
        return f"Added “{story.headline}” as `{story.id}` ({size}). Ask away, or `/story use {story.id}` here."

    def follow(self, url: str) -> str:
        """Follow the RSS or Atom feed at ``url``; the poller looks at it at once."""
        try:
            feed, new = follow_feed(self.follows, url.strip(), self.policy)
        except ValueError as exc:  # FetchError, FeedError, FollowError
            raise ValueError(f"Could not follow {link_text(url)}: {exc}.") from None
        if self.poller is not None:
            self.poller.wake()
        name = f"“{feed.title}”" if feed.title else link_text(feed.url)
        if not new:
            return f"Already following {name}."
        articles = count(len(feed.entries), "article")
        return (f"Following {name} ({articles} now): its new and updated articles are added every "
                f"{self.follow_minutes:g} minutes.")
