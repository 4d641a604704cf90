"""The platform-neutral answer model, and the desk every chat surface asks.

Adapters (CLI, Slack, Discord) never search themselves: they hand a question to :class:`Desk`
and render the :class:`Answer` it returns. All judgement (retrieval, answerability, speakers)
lives in ``index/``; this module only shapes it for output.

>>> desk = Desk.open(Settings.from_env())          # loads the model and index once
>>> answer = desk.ask("Who called the decision catastrophic?")
>>> answer.found, answer.hits[0].paragraph, answer.hits[0].speaker
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.models import Hit, Quote, SearchResult, StoryInfo
from index.validate import QuestionError, validate_check_words, validate_k

if TYPE_CHECKING:
    from bot.settings import Settings
    from index.quote_check import QuoteCheck
    from index.search import Searcher


def unavailable_message(ref: str) -> str:
    """What a chat user hears while the index's database is down (issue #15): no answer, no guess."""
    return f"The desk is unavailable right now (ref {ref}). Please try again in a minute."


@dataclass(frozen=True)
class Answer:
    """What storydesk says to a question: found or not, a short message, ranked cited hits."""

    question: str
    story: str | None
    found: bool
    message: str
    hits: tuple[Hit, ...] = field(default_factory=tuple)

    @classmethod
    def from_result(cls, result: SearchResult) -> Answer:
        return cls(result.question, result.story, result.found, result.message, tuple(result.hits))

    def to_dict(self) -> dict[str, Any]:
        """The ``ask --json`` shape."""
        return {
            "question": self.question,
            "story": self.story,
            "found": self.found,
            "message": self.message,
            "answers": [
                {
                    "story": h.story,
                    "headline": h.headline,
                    "paragraph": h.paragraph,
                    "paragraphs": list(h.paragraphs),
                    "text": h.text,
                    "excerpt": h.excerpt,
                    "speaker": h.speaker or None,
                    "role": h.role or None,
                    "url": h.url or None,
                    "score": round(float(h.score), 4),
                }
                for h in self.hits
            ],
        }


@dataclass(frozen=True)
class QuotesAnswer:
    """Who said what: quotes of a story (optionally one speaker's), in story order."""

    found: bool
    message: str
    quotes: tuple[Quote, ...] = ()


class Desk:
    """The one object chat surfaces talk to: it owns the model, the index and the searcher.

    Open it once at start-up (:meth:`open`); it is safe to share between threads.
    """

    def __init__(self, searcher: Searcher):
        self.searcher = searcher

    @classmethod
    def open(cls, settings: Settings | None = None, *, index_dir: Path | None = None) -> Desk:
        """Load and verify the model, open the index, and warm the search state."""
        from bot.settings import Settings, open_index
        from index.embed import Embedder
        from index.search import Searcher
        from index.store import Store

        settings = settings or Settings.from_env()
        embedder = Embedder.load(settings.model_dir)
        store = Store.open(index_dir) if index_dir else open_index(settings)
        store.check_model(embedder.info)
        searcher = Searcher(store, embedder)
        searcher.state()
        return cls(searcher)

    def ask(self, question: str, story: str | None = None, k: int = 3) -> Answer:
        """Answer ``question`` from ``story`` (or all stories). Raises ``QuestionError`` on bad input."""
        return Answer.from_result(self.searcher.search(question, story=story, k=validate_k(k)))

    def stories(self) -> list[StoryInfo]:
        """The indexed stories, in ingest order."""
        return self.searcher.store.list_stories()

    def has_story(self, story_id: str) -> bool:
        return story_id in self.searcher.stories()

    def quotes(self, story: str | None = None, speaker: str | None = None) -> QuotesAnswer:
        """All quotes (of ``story``), or those of the speaker best matching ``speaker``."""
        from index.attribution import match_speaker

        self._known(story)
        quotes = self.searcher.quotes(story)
        if not speaker:
            if not quotes:
                return QuotesAnswer(False, "No quotes found in this story.", ())
            return QuotesAnswer(True, "", tuple(quotes))
        name = match_speaker(speaker, quotes)
        if name is None:
            who = ", ".join(sorted({q.speaker for q in quotes})) or "nobody"
            return QuotesAnswer(False, f"No one named {speaker} is quoted in this story. Quoted: {who}.", ())
        return QuotesAnswer(True, "", tuple(q for q in quotes if q.speaker == name))

    def check(self, words: str, story: str | None = None) -> QuoteCheck:
        """Quote check: are these words in the story verbatim, nearly, or not at all, and whose?

        Raises ``QuestionError`` for empty or over-long words (:data:`index.validate.MAX_CHECK_WORDS`)
        and for a story that is not in the index.
        """
        from index.quote_check import check_quote

        words = validate_check_words(words)
        self._known(story)
        stories = self.searcher.stories()
        chosen = [stories[story]] if story else list(stories.values())
        return check_quote(words, chosen, self.searcher.quotes(story))

    def _known(self, story: str | None) -> None:
        if story is not None and story not in self.searcher.stories():
            raise QuestionError(f"No story with id {story!r} in the index.")

    def health(self) -> dict[str, Any]:
        """Readiness for ``/healthz``: the model is loaded and the index answers."""
        try:
            n = len(self.searcher.stories())
            return {"ready": True, "stories": n, "model": self.searcher.embedder.info.name}
        except Exception as exc:  # a broken index must show as not ready, not crash the probe
            return {"ready": False, "error": type(exc).__name__}
