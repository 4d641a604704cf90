"""What a story's reading carries from sentence to sentence, shared by the steps of attribution.

``Reading`` holds the story's paragraphs, its sentences and quote segments, the registry of
speakers met so far, the sentences read, the last speaker, and what has been decided about each
quote segment; ``Said`` is one resolved speaker. ``attribution.Reader`` walks the story with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from index.attribution.entities import Entity, Registry
from index.attribution.marks import Segment
from index.attribution.sentences import Sent
from index.models import Story

if TYPE_CHECKING:
    from spacy.tokens import Token


@dataclass
class Said:
    """A resolved speaker: the entity, the role the sentence gives it, how it was referred to."""

    entity: Entity | None
    role: str = ""
    alias: str = ""


class Reading:
    """The state of one story's reading, front to back."""

    def __init__(self, story: Story, sents: list[Sent], segs: list[Segment]) -> None:
        self.story = story
        self.texts = [p.text for p in story.paragraphs]
        self.sents = sents
        self.segs = segs
        self.registry = Registry("\n".join(self.texts))
        self.said: dict[int, Said] = {}  # id(segment) -> speaker
        self.dropped: set[int] = set()
        self.carried: set[int] = set()  # segments whose speaker was carried, not named by a verb
        self.indirect: list[tuple[Sent, str, Said]] = []
        self.last: Said | None = None
        self.done: list[Sent] = []
        self.pending: list[Said] = []
        self.quoted_names: set[str] = set()  # capitalised words of the sentence's quotes

    # -- offsets and spans

    def orig(self, sent: Sent, tok: Token, end: bool = False) -> int:
        """The paragraph offset of a token of the sentence's masked text."""
        pos = sent.mstart + tok.idx + (len(tok.text) if end else 0)
        return sent.masked.original(pos, end=end)

    def in_quote(self, sent: Sent, tok: Token) -> bool:
        """Is the token inside one of the sentence's quotes?"""
        o = self.orig(sent, tok)
        return any(s.start <= o < s.end for s in sent.segs)

    def text_of(self, sent: Sent, first: Token, last: Token) -> str:
        """The paragraph's text from ``first`` to ``last``, quotes unmasked."""
        a, b = self.orig(sent, first), self.orig(sent, last, end=True)
        return self.texts[sent.para][a:b]
