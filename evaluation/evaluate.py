"""Score storydesk on question and quote files in the ``shared/eval`` format.

Scoring follows ``shared/eval/README.md``: text is compared after Unicode normalisation,
lower-casing and folding quote marks, dashes and punctuation to spaces (:func:`index.text.fold`).

Questions: hit@1, hit@3, excerpt@1, speaker accuracy (who-said questions), share of negatives
declined, share of answerable questions wrongly declined; reported separately for the bundled story
and for archive articles. Quotes: recall, recall with the right speaker, precision of direct
quotes of 4+ words (:func:`evaluation.quote_eval.score_quotes`).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from index.embed import Embedder
from index.indexer import ingest
from index.ingest import SUFFIXES, load_story
from index.models import SearchResult
from index.search import Searcher
from index.store import Store
from index.text import fold

BUNDLED_ID = "met-police-safer-schools-officers"


def contains_folded(haystack: str, needle: str) -> bool:
    """``needle`` appears in ``haystack`` as whole words, both folded (the shared eval scoring)."""
    n = fold(needle)
    return bool(n) and f" {n} " in f" {fold(haystack)} "


def names_speaker(hit_speaker: str, speaker: str, aliases: list[str]) -> bool:
    """The hit names the gold speaker: full name, an alias, or the surname (never a pronoun)."""
    if not hit_speaker:
        return False
    candidates = [speaker, *aliases, speaker.split()[-1] if speaker else ""]
    return any(c and (contains_folded(hit_speaker, c) or contains_folded(c, hit_speaker)) for c in candidates)


@dataclass
class QuestionScore:
    """Counts for one group of questions."""

    n: int = 0
    hit1: int = 0
    hit3: int = 0
    excerpt1: int = 0
    who: int = 0
    speaker_ok: int = 0
    negatives: int = 0
    negatives_declined: int = 0
    answerable_declined: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, line: dict, result: SearchResult) -> None:
        gold = line.get("gold") or []
        hits = result.hits
        if not gold:
            self.negatives += 1
            declined = not result.found or not hits
            self.negatives_declined += declined
            if not declined:
                self.misses.append(f"NOT DECLINED: {line['question']}")
            return
        self.n += 1
        if not result.found or not hits:
            self.answerable_declined += 1
            self.misses.append(f"DECLINED: {line['question']} ({result.message})")

        def has(h) -> bool:
            return any(contains_folded(h.text, g) or contains_folded(h.excerpt, g) for g in gold)

        ok1 = bool(hits) and has(hits[0])
        self.hit1 += ok1
        self.hit3 += any(has(h) for h in hits[:3])
        ex1 = bool(hits) and any(contains_folded(hits[0].excerpt, g) for g in gold)
        self.excerpt1 += ex1
        if not ok1:
            top = f"¶{hits[0].paragraph} {hits[0].excerpt[:90]}" if hits else "-"
            self.misses.append(f"MISS@1: {line['question']} -> {top}")
        elif not ex1:
            self.misses.append(f"EXCERPT: {line['question']} -> {hits[0].excerpt[:90]}")
        if line.get("speaker"):
            self.who += 1
            first = next((h for h in hits if has(h)), None)
            good = first is not None and names_speaker(first.speaker, line["speaker"], line.get("aliases", []))
            self.speaker_ok += good
            if not good:
                self.misses.append(
                    f"SPEAKER: {line['question']} -> {first.speaker if first else None!r} "
                    f"(want {line['speaker']})")

    def figures(self, prefix: str) -> dict[str, float]:
        def ratio(a: int, b: int) -> float:
            return round(a / b, 3) if b else float("nan")

        return {
            f"{prefix}_questions": self.n,
            f"{prefix}_hit@1": ratio(self.hit1, self.n),
            f"{prefix}_hit@3": ratio(self.hit3, self.n),
            f"{prefix}_excerpt@1": ratio(self.excerpt1, self.n),
            f"{prefix}_speaker_accuracy": ratio(self.speaker_ok, self.who),
            f"{prefix}_negatives_declined": ratio(self.negatives_declined, self.negatives),
            f"{prefix}_answerable_declined": ratio(self.answerable_declined, self.n),
        }


@dataclass
class EvalReport:
    figures: dict[str, float]
    misses: list[str]

    def table(self) -> str:
        width = max(len(k) for k in self.figures) if self.figures else 10
        lines = [f"{k:<{width}}  {v}" for k, v in self.figures.items()]
        if self.misses:
            lines += ["", "Misses:"] + [f"  {m}" for m in self.misses]
        return "\n".join(lines)


def find_story_files(ids: set[str], folders: list[Path]) -> dict[str, Path]:
    """Locate ``<id>.txt`` (or another supported suffix) under ``folders``."""
    found: dict[str, Path] = {}
    for folder in folders:
        if not folder.exists():
            continue
        for path in folder.rglob("*"):
            if path.suffix.lower() in SUFFIXES and path.stem in ids and path.stem not in found:
                found[path.stem] = path
    return found


def run_eval(files: list[Path], corpus: list[Path], index_dir: Path | None = None,
             model_dir: Path | None = None, verbose: bool = False,
             embedder: Embedder | None = None) -> EvalReport:
    """Score the question/quote ``files``; stories are indexed into a temporary index unless given."""
    rows = [json.loads(line) for f in files for line in Path(f).read_text().splitlines() if line.strip()]
    questions = [row for row in rows if "question" in row]
    gold_quotes = [row for row in rows if "quote" in row]
    ids = {row["story"] for row in rows}
    embedder = embedder or Embedder.load(model_dir)
    with tempfile.TemporaryDirectory(prefix="storydesk-eval-") as tmp:
        store = Store.open(index_dir or Path(tmp))
        missing_ids = ids - set(store.story_hashes())
        if missing_ids:
            paths = find_story_files(missing_ids, corpus)
            absent = missing_ids - set(paths)
            if absent:
                raise FileNotFoundError(f"stories not found under {corpus}: {sorted(absent)}")
            ingest(store, embedder, [load_story(p) for p in paths.values()])
        searcher = Searcher(store, embedder)
        groups = {"story": QuestionScore(), "archive": QuestionScore()}
        for line in questions:
            group = groups["story" if line["story"] == BUNDLED_ID else "archive"]
            group.add(line, searcher.search(line["question"], story=line["story"], k=3))
        figures: dict[str, float] = {}
        misses: list[str] = []
        for name, score in groups.items():
            if score.n or score.negatives:
                figures.update(score.figures(name))
                misses += [f"[{name}] {m}" for m in score.misses]
        if gold_quotes:
            from evaluation.quote_eval import score_quotes

            system = [q for sid in {g["story"] for g in gold_quotes} for q in searcher.quotes(sid)]
            figures.update({f"quotes_{k}": v for k, v in score_quotes(gold_quotes, system).items()})
    return EvalReport(figures, misses if verbose else [])
