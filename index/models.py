"""The things that flow through the index: stories, paragraphs, quotes and search hits.

Plain frozen dataclasses so they can be stored, compared and serialised without ceremony.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

QuoteKind = Literal["direct", "indirect"]


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of a cleaned story; ``number`` (1-based) is the citation unit."""

    story: str
    number: int
    text: str


@dataclass(frozen=True)
class Story:
    """A cleaned story, ready to index.

    ``dropped`` lists the raw blocks that cleaning removed (page furniture, appeals), so an
    editor can check nothing of the story itself was lost.
    """

    id: str
    headline: str
    paragraphs: tuple[Paragraph, ...]
    byline: str = ""
    standfirst: str = ""
    url: str = ""
    date: str = ""
    source: str = ""
    dropped: tuple[str, ...] = ()
    content_hash: str = ""

    def paragraph(self, number: int) -> Paragraph:
        """The paragraph with this 1-based number."""
        return self.paragraphs[number - 1]


@dataclass(frozen=True)
class Quote:
    """Words attributed to a speaker in a story.

    ``text`` is verbatim without the quotation marks; ``paragraphs`` lists every paragraph the
    quote spans (first one first). ``kind`` is ``direct`` for words inside quotation marks and
    ``indirect`` for reported speech.
    """

    story: str
    speaker: str
    text: str
    paragraphs: tuple[int, ...]
    kind: QuoteKind = "direct"
    aliases: tuple[str, ...] = ()
    role: str = ""

    @property
    def paragraph(self) -> int:
        """The paragraph the quote starts in."""
        return self.paragraphs[0]


@dataclass(frozen=True)
class Hit:
    """One ranked piece of evidence: a paragraph of a story and the verbatim excerpt that answers.

    ``paragraph`` is 1-based; 0 means the line above the body that carries the byline (the
    standfirst when the story has one), the answer to "Who wrote this?". When the answering
    sentence needs the one before it and that one ends the previous paragraph, ``first_paragraph``
    is that paragraph: ``text`` and ``excerpt`` then run across both (a blank line between).
    """

    story: str
    headline: str
    paragraph: int
    text: str
    excerpt: str
    score: float
    speaker: str = ""
    role: str = ""
    url: str = ""
    first_paragraph: int = 0

    @property
    def paragraphs(self) -> tuple[int, ...]:
        """Every paragraph the excerpt is in."""
        return (self.first_paragraph, self.paragraph) if self.first_paragraph else (self.paragraph,)

    @property
    def citation(self) -> str:
        """Where the excerpt is: "¶N", "¶N–¶N+1" across two, or "byline" for paragraph 0."""
        if self.first_paragraph:
            return f"¶{self.first_paragraph}–¶{self.paragraph}"
        return f"¶{self.paragraph}" if self.paragraph else "byline"


@dataclass(frozen=True)
class SearchResult:
    """What search concluded: the ranked hits and whether they actually answer the question.

    ``found`` is False when the evidence is too weak; ``message`` then says why in a sentence a
    reporter can read ("The story doesn't say ...").
    """

    question: str
    story: str | None
    found: bool
    message: str
    hits: tuple[Hit, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class StoryInfo:
    """A line of the story list: what ``storydesk stories`` prints."""

    id: str
    headline: str
    byline: str
    url: str
    date: str
    paragraphs: int
    quotes: int = 0
