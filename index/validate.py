"""Checks on what a user types before any work is done: questions, quoted words, result counts.

Every check raises :class:`QuestionError` (a ``ValueError``) with a message written for the
reporter who typed the input; adapters show it as it is. The stopword list is bm25s's English
list, the same one search drops, so "a question with no words" means exactly "nothing left to
search for".
"""

from __future__ import annotations

import unicodedata

from index.text import STOPWORDS, words

MAX_QUESTION_CHARS = 1000
# A quote check compares the words with every paragraph; a quote is a sentence or two. Past
# 60 words it is a passage, and the comparison's cost grows with its length.
MAX_CHECK_WORDS = 60
MAX_CHECK_CHARS = 600
MAX_K = 20

_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


class QuestionError(ValueError):
    """The input cannot be used as given (empty, too long, no words, unknown story)."""


def has_control_characters(text: str) -> bool:
    """True when ``text`` holds characters a terminal or chat client may act on (ESC, BEL, ...)."""
    return any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in _ALLOWED_CONTROLS
               for ch in text)


def without_control_characters(text: str) -> str:
    """``text`` with control and format characters shown as U+FFFD, safe to print."""
    return "".join("\ufffd" if unicodedata.category(ch) in ("Cc", "Cf") and ch not in _ALLOWED_CONTROLS
                   else ch for ch in text)


def content_words(text: str) -> list[str]:
    """The words of ``text`` that say what it is about (stopwords dropped)."""
    return [w for w in words(text) if w not in STOPWORDS]


def validate_question(question: str) -> str:
    """Strip and check a question; raise :class:`QuestionError` with a clear message."""
    q = (question or "").strip()
    if not q:
        raise QuestionError("The question is empty: ask something about the story.")
    if len(q) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"The question is {len(q):,} characters long; please keep it under "
            f"{MAX_QUESTION_CHARS:,}."
        )
    if has_control_characters(q):
        raise QuestionError("The question holds control characters; please type it as plain text.")
    if not content_words(q):
        raise QuestionError(
            "The question has no words to search for: ask about someone or something in the story."
        )
    return q


def validate_check_words(text: str) -> str:
    """Strip and check the words of a quote check (``check "..."``)."""
    w = (text or "").strip()
    if not words(w):
        raise QuestionError('Give the quoted words to check, e.g. check "a perfect storm".')
    if has_control_characters(w):
        raise QuestionError("The words hold control characters; please type them as plain text.")
    n = len(w.split())
    if n > MAX_CHECK_WORDS or len(w) > MAX_CHECK_CHARS:
        raise QuestionError(
            f"That is {n:,} words ({len(w):,} characters); a quote check takes up to "
            f"{MAX_CHECK_WORDS} words ({MAX_CHECK_CHARS} characters). Check one sentence at a time."
        )
    return w


def validate_k(k: int) -> int:
    """How many passages to return: 1 to :data:`MAX_K`."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise QuestionError(f"The number of passages must be a whole number from 1 to {MAX_K} (got {k!r}).")
    return k
