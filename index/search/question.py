"""Stage 1, question analysis: what the question asks, before any passage is read.

Input: the raw question (checked by :func:`index.validate.validate_question`). Output: a
:class:`Question` with its stemmed tokens for BM25, whether it asks for the byline, and the names
of people it mentions. Nothing here ranks: the reader does that, reading question and passage
together; the names only let answerability say "X is not mentioned" instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import Stemmer

from index.search.patterns import ASKS_WHAT_X_SAID, BYLINE_QUESTION, DESCRIPTION_START, NAME_RUN, NOT_NAMES
from index.text import STOPWORDS

STEMMER = Stemmer.Stemmer("english")
_TOKEN = re.compile(r"(?u)\b\w+\b")


def lexical_tokens(text: str) -> list[str]:
    """bm25s's tokenisation (its pattern, English stopwords, Snowball stems) for one text."""
    return STEMMER.stemWords([w for w in _TOKEN.findall(text.lower()) if w not in STOPWORDS])


@dataclass(frozen=True)
class Question:
    """A question as the later stages need it."""

    text: str
    tokens: tuple[str, ...]
    wants_byline: bool
    speaker_asked: str | None  # X in "What did X say ...", when X is a name, not a description
    names: tuple[str, ...]  # capitalised multi-word names in the question ("Matt Cox")


def analyse(text: str) -> Question:
    """Read ``text`` (already validated) into a :class:`Question`."""
    asked = ASKS_WHAT_X_SAID.match(text)
    speaker = asked.group("name").strip() if asked else None
    if speaker and (DESCRIPTION_START.match(speaker) or not speaker[:1].isupper()):
        speaker = None
    return Question(
        text=text,
        tokens=tuple(lexical_tokens(text)),
        wants_byline=bool(BYLINE_QUESTION.search(text)),
        speaker_asked=speaker,
        names=tuple(proper_names(text)),
    )


def proper_names(text: str) -> list[str]:
    """Capitalised runs of two or more words, not counting the question's own first word."""
    names = []
    for m in NAME_RUN.finditer(text):
        run = m.group(1).split()
        if m.start() == 0:
            run = run[1:]
        run = [w for w in run if w not in NOT_NAMES]
        if len(run) >= 2:
            names.append(" ".join(run))
    return names
