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
from typing import Any

from index.models import Hit, Quote, SearchResult, StoryInfo


@dataclass(frozen=True)
class Answer:
    """What storydesk says to a question: found or not, a short message, ranked cited hits."""

    question: str
    story: str | None
    found: bool
    message: str
    hits: tuple[Hit, ...] = field(default_factory=tuple)

    @classmethod
    def from_result(cls, result: SearchResult) -> "Answer":
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
