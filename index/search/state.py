"""What search derives from one index snapshot: sentence texts, neighbours, lexical statistics.

Built once per generation (a new ingest makes a new one) and shared read-only by every question.
BM25 comes from bm25s (sparse-matrix BM25, fast and maintained) with PyStemmer's Snowball stems,
so names and figures that the embedding blurs ("Alleyne-Lawler", "371") still reach the shortlist.
"""

from __future__ import annotations

import logging
from collections.abc import Container, Iterable, Set
from dataclasses import dataclass, field

import bm25s
import numpy as np
from scipy import sparse

from index.models import Quote, Story
from index.search.question import STEMMER
from index.store import Snapshot
from index.text import word_set

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG

TOKEN_PATTERN = r"(?u)\b\w+\b"


@dataclass
class SearchState:
    """Search structures for one snapshot. Unit rows follow ``snap.units`` (story order)."""

    snap: Snapshot
    unit_text: list[str]  # each unit's sentence, verbatim
    unit_prev: np.ndarray  # the row of the sentence before (across paragraphs), -1 at a story's start
    story_rows: dict[str, tuple[int, int]]  # story -> [first, last) unit rows
    ids_sorted: np.ndarray  # FAISS ids in ascending order ...
    ids_order: np.ndarray  # ... and the unit row of each
    vocab: dict[str, int]  # stemmed token -> column of ``presence``
    presence: sparse.csr_matrix  # unit row x token: 1 where the sentence has the token
    bm25: bm25s.BM25 | None  # over every unit, for archive-wide shortlists
    _story_words: dict[str, Container[str]] = field(default_factory=dict)

    @property
    def stories(self) -> dict[str, Story]:
        return self.snap.stories

    def quotes(self, story: str) -> tuple[Quote, ...]:
        return self.snap.quotes.get(story, ())

    def story_words(self, story: str | None) -> Container[str]:
        """Lower-cased words of one story, or of every story; made on first use, then kept.

        Kept as sorted arrays of their hashes, not sets of strings: the archive's as a frozenset
        held 23 MB of a serving process's RSS for one membership test, and a set per story, kept
        for every story asked about, would grow a long-running server by 46 MB over the archive's
        2,096 stories (3.9 MB as hashes).
        """
        key = story or ""
        found = self._story_words.get(key)
        if found is None:
            stories = [self.stories[story]] if story is not None else self.stories.values()
            found = HashedWords.of(word_set(_story_text(s)) for s in stories)
            self._story_words[key] = found
        return found


class HashedWords(Container[str]):
    """A word set as sorted 64-bit hashes: exact membership for this process (``hash`` is salted
    per process, which does not matter for a set built and read in one)."""

    def __init__(self, hashes: np.ndarray):
        self._hashes = hashes

    @classmethod
    def of(cls, word_sets: Iterable[Set[str]]) -> HashedWords:
        parts = [np.fromiter((hash(w) for w in ws), dtype=np.int64, count=len(ws)) for ws in word_sets]
        return cls(np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64))

    def __contains__(self, word: object) -> bool:
        h = hash(word)
        i = int(np.searchsorted(self._hashes, h))
        return i < len(self._hashes) and int(self._hashes[i]) == h


def _story_text(story: Story) -> str:
    return " ".join([story.headline, story.byline, *(p.text for p in story.paragraphs)])


def build_state(snap: Snapshot) -> SearchState:
    """Derive the search structures from ``snap``."""
    units = snap.units
    texts = [u.text(snap.stories[u.story]) for u in units]
    prev = np.arange(-1, len(units) - 1, dtype=np.int64)
    story_rows: dict[str, tuple[int, int]] = {}
    for i, u in enumerate(units):
        first, _ = story_rows.get(u.story, (i, i))
        story_rows[u.story] = (first, i + 1)
        if i == first:
            prev[i] = -1
    vocab: dict[str, int] = {}
    presence = sparse.csr_matrix((len(texts), 0), dtype=np.float32)
    bm25 = None
    if texts:
        corpus = bm25s.tokenize(texts, token_pattern=TOKEN_PATTERN, stopwords="en",
                                stemmer=STEMMER, show_progress=False)
        vocab = dict(corpus.vocab)
        # Which sentence has which token, as a sparse matrix: story-scoped BM25 is one slice of it.
        columns = [np.unique(np.asarray(ids, dtype=np.int64)) for ids in corpus.ids]
        indptr = np.concatenate([[0], np.cumsum([len(c) for c in columns])])
        indices = np.concatenate(columns) if columns else np.zeros(0, np.int64)
        presence = sparse.csr_matrix(
            (np.ones(len(indices), np.float32), indices, indptr),
            shape=(len(texts), max(len(vocab), int(indices.max(initial=-1)) + 1)))
        bm25 = bm25s.BM25()
        bm25.index(corpus, show_progress=False)
    ids_order = np.argsort(snap.unit_ids, kind="stable")
    return SearchState(snap, texts, prev, story_rows, snap.unit_ids[ids_order], ids_order,
                       vocab, presence, bm25)
