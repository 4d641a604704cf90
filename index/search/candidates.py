"""Stage 2, candidate retrieval: the sentences worth reading, by dense and lexical similarity.

Input: a :class:`Question`, its MiniLM vector and the scope (one story or the archive). Output: a
:class:`Shortlist` of sentence rows with their first-stage score, best first. On unseen question
sets the gold paragraph is in the top ten of plain dense or BM25 search 95-100% of the time: this
stage only has to keep it, and the reader chooses.

Scoped to a story, BM25 uses that story's own statistics, so an answer about a story does not
move when other stories are indexed. Archive-wide, the FAISS shortlist and the bm25s shortlist
are merged and re-scored the same way. On PostgreSQL (``snap.archive`` set) the nearest vectors
come from the database's HNSW index instead of FAISS; the BM25 shortlist and the re-scoring are the
same on both backends, and so is story-scoped search.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np

from index.search.question import Question
from index.search.state import SearchState

LEXICAL_WEIGHT = 0.2  # BM25 (scaled to [0, 1] within the candidates) beside cosine
ARCHIVE_DENSE = 256  # nearest sentences taken from FAISS across the archive
ARCHIVE_LEXICAL = 64  # best BM25 sentences taken across the archive


@dataclass(frozen=True)
class Shortlist:
    """Sentence rows (``state.snap.units`` order) and their first-stage scores, best first."""

    rows: np.ndarray
    scores: np.ndarray


def shortlist(state: SearchState, question: Question, q_vec: np.ndarray, story: str | None,
              n: int) -> Shortlist:
    """The ``n`` best sentences for ``question`` in ``story`` (or across every story)."""
    if story is not None:
        a, b = state.story_rows.get(story, (0, 0))
        rows = np.arange(a, b, dtype=np.int64)
        lexical = _scoped_bm25(state, rows, question.tokens)
    else:
        rows = _archive_rows(state, question, q_vec)
        lexical = _archive_bm25(state, rows, question.tokens)
    if not len(rows):
        return Shortlist(rows, np.zeros(0, np.float32))
    # einsum, not ``@``: ``@`` wakes OpenBLAS's threads, whose spinning then slows the next
    # question's encode on 2 cores by a third (measured).
    dense = np.einsum("ij,j->i", state.snap.vectors[rows], q_vec)
    scores = dense + LEXICAL_WEIGHT * lexical
    order = np.argsort(-scores, kind="stable")[:n]
    return Shortlist(rows[order], scores[order].astype(np.float32))


def _archive_rows(state: SearchState, question: Question, q_vec: np.ndarray) -> np.ndarray:
    """The dense neighbours (FAISS here, HNSW in the database) and the BM25 top, as unit rows.

    BM25 runs in process on both backends: with the database's own full-text ranking instead, 12 of
    650 eval questions got other answers than the embedded store on the archive; with the same BM25
    statistics, only HNSW's approximation is left (2 of 13 of those still differ).
    """
    found: set[int] = set(_dense_rows(state, q_vec).tolist())
    if state.bm25 is not None and question.tokens:
        scores = state.bm25.get_scores(list(question.tokens))
        k = min(ARCHIVE_LEXICAL, len(scores) - 1)
        if k > 0:
            top = np.argpartition(-scores, k)[:k]
            found.update(int(t) for t in top if scores[t] > 0)
    return np.array(sorted(found), dtype=np.int64)


def _dense_rows(state: SearchState, q_vec: np.ndarray) -> np.ndarray:
    if state.snap.archive is not None:
        ids = state.snap.archive.nearest(q_vec, ARCHIVE_DENSE)
    elif state.snap.faiss_index is not None and state.snap.faiss_index.ntotal:
        index = state.snap.faiss_index
        _, found = _search_one_thread(index, q_vec, min(ARCHIVE_DENSE, index.ntotal))
        ids = found[0][found[0] >= 0]
    else:
        return np.zeros(0, dtype=np.int64)
    if not len(ids) or not len(state.ids_sorted):
        return np.zeros(0, dtype=np.int64)
    # A unit committed after this snapshot is not in it: keep only the ids the snapshot holds.
    at = np.minimum(np.searchsorted(state.ids_sorted, ids), len(state.ids_sorted) - 1)
    known = state.ids_sorted[at] == ids
    return state.ids_order[at[known]].astype(np.int64)


def _scoped_bm25(state: SearchState, rows: np.ndarray, tokens: tuple[str, ...]) -> np.ndarray:
    """BM25 over ``rows`` with their own document frequencies, scaled to [0, 1].

    Term frequency is taken as presence, which BM25's saturation makes nearly equivalent for
    sentences.
    """
    columns = [state.vocab[t] for t in dict.fromkeys(tokens) if t in state.vocab]
    if not columns or not len(rows):
        return np.zeros(len(rows), dtype=np.float32)
    block = state.presence[rows]
    present = block[:, columns].toarray()
    n = len(rows)
    df = present.sum(axis=0)
    idf = np.log1p((n - df + 0.5) / (df + 0.5))
    lengths = np.diff(block.indptr).astype(np.float32)
    k1, b = 1.5, 0.75
    norm = (k1 + 1) / (1 + k1 * (1 - b + b * lengths / max(float(lengths.mean()), 1.0)))
    scores = np.einsum("ij,j->i", present, idf.astype(np.float32)) * norm
    return _unit_scale(scores)


def _archive_bm25(state: SearchState, rows: np.ndarray, tokens: tuple[str, ...]) -> np.ndarray:
    if state.bm25 is None or not tokens or not len(rows):
        return np.zeros(len(rows), dtype=np.float32)
    return _unit_scale(state.bm25.get_scores(list(tokens))[rows])


def _unit_scale(scores: np.ndarray) -> np.ndarray:
    top = float(scores.max()) if len(scores) else 0.0
    return (scores / top).astype(np.float32) if top > 0 else np.zeros(len(scores), np.float32)


def _search_one_thread(index: faiss.Index, q_vec: np.ndarray, n: int):
    """FAISS search of one query on one OpenMP thread, then the thread count restored.

    For a single query, thread start-up costs more than it saves (35,679 vectors: 7.0 ms with 2
    threads, 4.0 ms with 1); restoring keeps torch, which shares the OpenMP runtime, on all cores.
    """
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return index.search(q_vec[None, :], n)
    finally:
        faiss.omp_set_num_threads(threads)
