"""Question files -> an index of their stories -> labelled (question, passage) pairs for the reader.

The candidates a question gets here are exactly what search shortlists at run time
(:func:`index.search.candidates.shortlist`), so the reader learns to choose among what it
will be shown. A passage is positive when its sentence holds a gold span (or is a 4+ word piece of
one, where the annotator's sentence spans two of ours); unanswerable questions have none.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.embed import Embedder
from index.indexer import ingest
from index.ingest import load_story
from index.search.candidates import shortlist
from index.search.question import analyse
from index.search.reader import passage
from index.search.state import SearchState, build_state
from index.store import Store
from index.text import fold

REPO = Path(__file__).resolve().parent.parent
# The archive: ../shared beside the repository unless STORYDESK_SHARED says otherwise.
CORPUS = Path(os.environ.get("STORYDESK_SHARED") or REPO.parent / "shared") / "corpus" / "bbc-2005"
STORIES = REPO / "stories"


@dataclass(frozen=True)
class Example:
    """One question with its shortlisted passages and their labels."""

    question: str
    story: str
    passages: tuple[str, ...]
    priors: tuple[float, ...]  # first-stage scores
    labels: tuple[float, ...]
    answerable: bool


def read_questions(files: list[Path]) -> list[dict]:
    return [json.loads(line) for f in sorted(files) for line in f.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def story_paths(ids: set[str]) -> dict[str, Path]:
    found = {p.stem: p for p in [*CORPUS.glob("*/*.txt"), *STORIES.glob("*.txt")] if p.stem in ids}
    missing = ids - set(found)
    if missing:
        raise FileNotFoundError(f"stories not found: {sorted(missing)[:5]} (is ../shared/corpus there?)")
    return found


def build_index(questions: list[dict], folder: Path, embedder: Embedder) -> SearchState:
    """Index every story the questions are about into ``folder``; the search state over it."""
    store = Store.open(folder)
    paths = story_paths({q["story"] for q in questions})
    ingest(store, embedder, [load_story(p) for p in sorted(paths.values())])
    return build_state(store.snapshot())


def is_gold(sentence: str, gold: list[str]) -> bool:
    s = fold(sentence)
    return any((g := fold(span)) and (g in s or (len(s.split()) >= 4 and s in g)) for span in gold)


def examples(questions: list[dict], state: SearchState, embedder: Embedder, n: int,
             add_missing_gold: bool) -> list[Example]:
    """Shortlist ``n`` passages per question and label them (gold sentences added if asked)."""
    vectors = embedder.encode([q["question"] for q in questions])
    out = []
    for q, vec in zip(questions, vectors, strict=False):
        asked = analyse(q["question"])
        ranked = shortlist(state, asked, vec, q["story"], 10_000)  # the whole story, ranked
        score_of = dict(zip(ranked.rows.tolist(), ranked.scores.tolist(), strict=False))
        rows = ranked.rows[:n].tolist()
        gold = q.get("gold") or []
        if add_missing_gold and gold:
            rows += [r for r in score_of if r not in rows and is_gold(state.unit_text[r], gold)]
        labels = tuple(float(is_gold(state.unit_text[r], gold)) for r in rows)
        out.append(Example(q["question"], q["story"], tuple(passage(state, r) for r in rows),
                           tuple(score_of[r] for r in rows), labels, bool(gold)))
    return out


def shortlist_recall(exs: list[Example]) -> float:
    answerable = [e for e in exs if e.answerable]
    return float(np.mean([max(e.labels, default=0.0) for e in answerable])) if answerable else 0.0
