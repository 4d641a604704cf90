"""Search: question -> candidates -> reader -> answerability -> :class:`SearchResult`.

One file per stage, each with a typed input and output:

- :mod:`.question`: analysis (tokens for BM25, byline questions, names the question mentions);
- :mod:`.candidates`: the shortlist of sentences by MiniLM cosine plus BM25 (FAISS across the archive);
- :mod:`.reader`: a trained cross-encoder reading the question with each sentence, its speaker,
  the sentence before and the headline; its probability ranks the answers;
- :mod:`.answerability`: declines, each check one table row, the threshold learned.

A paragraph is the citation; the excerpt is the sentence the reader chose, verbatim, with the
speaker attribution gave it.

>>> searcher = Searcher(Store.open(path), Embedder.load())
>>> result = searcher.search("What did Matt Cox tell the Assembly?", story="met-police-safer-schools-officers")
"""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np

from index.embed import Embedder
from index.models import Hit, Quote, SearchResult, Story
from index.search.answerability import Verdict, decide
from index.search.candidates import Shortlist, shortlist
from index.search.question import analyse
from index.search.reader import Reader, passage
from index.search.state import SearchState, build_state
from index.store import IndexStore
from index.validate import MAX_QUESTION_CHARS, QuestionError, validate_question

__all__ = ["MAX_QUESTION_CHARS", "QuestionError", "Searcher", "validate_question"]


class Searcher:
    """Answers questions from an :class:`IndexStore` (either backend). Thread-safe; reloads when the index changes."""

    def __init__(self, store: IndexStore, embedder: Embedder, reader: Reader | None = None):
        self.store = store
        self.embedder = embedder
        self._reader = reader
        self._state: SearchState | None = None
        # Two locks: a question that arrives while the reader first loads still gets a fresh state.
        self._state_lock = threading.Lock()
        self._reader_lock = threading.Lock()

    @property
    def reader(self) -> Reader:
        """The trained reader, loaded (and checksum-verified) on first use."""
        if self._reader is None:
            with self._reader_lock:
                if self._reader is None:
                    self._reader = Reader.load(word_embeddings=self.embedder.word_embeddings(),
                                               tokenize=self.embedder.tokenize)
        return self._reader

    def state(self) -> SearchState:
        """The current search state, rebuilt if another process committed a new generation."""
        generation = self.store.generation()
        state = self._state
        if state is None or state.snap.generation != generation:
            # While another thread builds the new generation (the feed poller warming it after a
            # write), a question answers from the generation it has instead of waiting.
            if state is not None and not self._state_lock.acquire(blocking=False):
                return state
            if state is None:
                self._state_lock.acquire()
            try:
                state = self._state
                if state is None or state.snap.generation != generation:
                    state = build_state(self.store.snapshot())
                    self._state = state
            finally:
                self._state_lock.release()
        return state

    def stories(self) -> dict[str, Story]:
        return self.state().stories

    def quotes(self, story: str | None = None) -> list[Quote]:
        """Quotes of one story, or of all stories, in story order."""
        state = self.state()
        if story is not None:
            return list(state.quotes(story))
        return [q for sid in state.stories for q in state.quotes(sid)]

    def search(self, question: str, story: str | None = None, k: int = 3) -> SearchResult:
        """Rank passages for ``question`` (in ``story``, or across all) and decide if they answer it."""
        text = validate_question(question)
        state = self.state()
        if story is not None and story not in state.stories:
            raise QuestionError(f"No story with id {story!r} in the index.")
        if not state.stories:
            return SearchResult(text, story, False, "The index has no stories yet.", ())
        asked = analyse(text)
        if story is not None and asked.wants_byline:
            return _byline(state, text, story)
        reader = self.reader
        card = reader.card
        n = card.candidates_story if story is not None else card.candidates_archive
        q_vec = self.embedder.encode([text])[0]
        short = _read_set(state, shortlist(state, asked, q_vec, story, max(n, 4 * k)), n, max(k, 1))
        probs = reader.score(text, [passage(state, int(r)) for r in short.rows], short.scores)
        hits, hit_rows = _hits(state, short.rows, probs, max(k, 1))
        best = float(probs.max()) if len(probs) else 0.0
        found, message = decide(Verdict(asked, state, story, best, reader.threshold))
        if found and hits:
            top = int(np.flatnonzero(short.rows == hit_rows[0])[0])
            hits[0] = self._with_sentence_before(state, text, hit_rows[0], hits[0], float(short.scores[top]))
        return SearchResult(text, story, found, message, tuple(hits))

    def _with_sentence_before(self, state: SearchState, question: str, row: int, hit: Hit,
                              prior: float) -> Hit:
        """The hit with the sentence before its excerpt shown too, when the answer needs it.

        Whether it does is the reader's call: read without that sentence the passage falls
        below the answer threshold ("The proposed deal would value the company at ...": which
        deal is in the sentence before). Across a paragraph break both paragraphs are cited.
        """
        prev = int(state.unit_prev[row])
        if prev < 0:
            return hit
        alone = float(self.reader.score(question, [passage(state, row, context=False)], np.array([prior]))[0])
        if alone >= self.reader.threshold:
            return hit
        unit, before = state.snap.units[row], state.snap.units[prev]
        story = state.stories[unit.story]
        text = story.paragraph(unit.paragraph).text
        if before.paragraph == unit.paragraph:
            return replace(hit, excerpt=text[before.start:unit.end])
        earlier = story.paragraph(before.paragraph).text
        if before.paragraph != unit.paragraph - 1 or before.end != len(earlier) or unit.start != 0:
            return hit  # not two sentences side by side: leave the excerpt alone
        return replace(hit, first_paragraph=before.paragraph, text=f"{earlier}\n\n{text}",
                       excerpt=f"{earlier[before.start:]}\n\n{text[:unit.end]}")



def _read_set(state: SearchState, short: Shortlist, n: int, k: int) -> Shortlist:
    """The ``n`` best passages, and more in first-stage order until they cover ``k`` paragraphs
    (four sentences may sit in two paragraphs, and an answer lists ``k`` paragraphs)."""
    keep = list(range(min(n, len(short.rows))))
    covered = {(state.snap.units[int(short.rows[i])].story, state.snap.units[int(short.rows[i])].paragraph)
               for i in keep}
    for i in range(len(keep), len(short.rows)):
        if len(covered) >= k:
            break
        unit = state.snap.units[int(short.rows[i])]
        if (unit.story, unit.paragraph) not in covered:
            covered.add((unit.story, unit.paragraph))
            keep.append(i)
    return Shortlist(short.rows[keep], short.scores[keep])


def _hits(state: SearchState, rows: np.ndarray, probs: np.ndarray, k: int) -> tuple[list[Hit], list[int]]:
    """One hit per paragraph, best sentence first (the excerpt is that sentence), and their rows."""
    hits: list[Hit] = []
    hit_rows: list[int] = []
    seen: set[tuple[str, int]] = set()
    for i in np.argsort(-probs, kind="stable"):
        row = int(rows[i])
        unit = state.snap.units[row]
        key = (unit.story, unit.paragraph)
        if key in seen:
            continue
        seen.add(key)
        story = state.stories[unit.story]
        role = next((q.role for q in state.quotes(unit.story) if q.speaker == unit.speaker and q.role), "") \
            if unit.speaker else ""
        hits.append(Hit(unit.story, story.headline, unit.paragraph, story.paragraph(unit.paragraph).text,
                        state.unit_text[row], float(probs[i]), unit.speaker, role, story.url))
        hit_rows.append(row)
        if len(hits) == k:
            break
    return hits, hit_rows


def _byline(state: SearchState, q: str, sid: str) -> SearchResult:
    """"Who wrote this story?": the byline, shown as the story gives it (paragraph 0)."""
    story = state.stories[sid]
    if not story.byline:
        return SearchResult(q, sid, False, "The story doesn't say: it carries no byline.", ())
    line = story.standfirst if story.byline in story.standfirst else f"By {story.byline}"
    start = line.rfind(", ", 0, line.find(story.byline))
    excerpt = line[start + 2:] if story.standfirst and start >= 0 else line
    hit = Hit(sid, story.headline, 0, line, excerpt, 1.0, url=story.url)
    return SearchResult(q, sid, True, "", (hit,))
