"""Score extracted quotes against gold quotes, as in ``../shared/eval/README.md``.

- *recall*: share of gold quotes some system quote contains (or a 4+ word part of which is a
  system quote);
- *speaker recall*: the same, where that system quote also names the gold speaker (full name, an
  alias or the surname);
- *precision*: share of the system's direct quotes of 4+ words that match a gold quote with the
  right speaker.

Text is compared after NFKC normalisation, lower-casing, and folding quote marks, dashes and
punctuation to spaces (:func:`index.text.fold`). Run ``python -m evaluation.quote_eval`` for
per-story and overall figures on the dev set, ``-v`` to list misses, wrong speakers and extras,
``--gold FILE`` to score another gold file of the same format (stories are looked up in the
archive corpus by id). The shared folder is ``../shared`` beside the repository, or
``$STORYDESK_SHARED``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.settings import Settings
from index.ingest import load_story
from index.models import Paragraph, Quote, Story
from index.text import fold as normalise


def _names_speaker(system_speaker: str, gold: dict) -> bool:
    """Does the system's speaker name the gold speaker (full name, an alias, or the surname)?"""
    said = normalise(system_speaker)
    if not said or said in {"he", "she", "they", "it"}:
        return False
    full = normalise(gold["speaker"])
    names = {full, *(normalise(a) for a in gold.get("aliases", []))}
    if full.split():
        names.add(full.split()[-1])
    return said in names


def contains_quote(system_text: str, gold_text: str) -> bool:
    """A system quote contains the gold quote, or is a 4+ word part of it."""
    s, g = normalise(system_text), normalise(gold_text)
    if not s or not g:
        return False
    if f" {g} " in f" {s} ":
        return True
    return len(s.split()) >= 4 and f" {s} " in f" {g} "


def score_quotes(gold: list[dict], system: list[Quote]) -> dict:
    """Recall, speaker recall and precision of ``system`` quotes against ``gold`` lines.

    Gold lines are ``{"story", "speaker", "aliases", "quote"}``; quotes are compared within the
    same story. Returns counts and the three ratios.
    """
    by_story: dict[str, list[Quote]] = {}
    for q in system:
        by_story.setdefault(q.story, []).append(q)
    found = found_speaker = 0
    for g in gold:
        cands = [q for q in by_story.get(g["story"], []) if contains_quote(q.text, g["quote"])]
        if cands:
            found += 1
        if any(_names_speaker(q.speaker, g) for q in cands):
            found_speaker += 1
    golds_by_story: dict[str, list[dict]] = {}
    for g in gold:
        golds_by_story.setdefault(g["story"], []).append(g)
    counted = correct = 0
    for q in system:
        if q.kind != "direct" or len(q.text.split()) < 4:
            continue
        counted += 1
        if any(contains_quote(q.text, g["quote"]) and _names_speaker(q.speaker, g)
               for g in golds_by_story.get(q.story, [])):
            correct += 1
    n = len(gold)
    return {
        "gold": n,
        "found": found,
        "found_speaker": found_speaker,
        "system_direct_4plus": counted,
        "correct": correct,
        "recall": found / n if n else 0.0,
        "speaker_recall": found_speaker / n if n else 0.0,
        "precision": correct / counted if counted else 0.0,
    }


def _find_story_file(corpus: Path, story_id: str) -> Path | None:
    hits = sorted(corpus.glob(f"*/{story_id}.txt"))
    return hits[0] if hits else None


def main(argv: Sequence[str] = ()) -> int:
    """Print per-story and overall figures on the dev gold quotes (or ``--gold FILE``)."""
    from index.attribution import extract_quotes

    argv = list(argv)
    shared = Settings.from_env().shared_dir
    corpus = shared / "corpus" / "bbc-2005"
    gold_file = shared / "eval" / "dev" / "quotes.jsonl"
    if "--gold" in argv:
        i = argv.index("--gold")
        if i + 1 >= len(argv):
            print("usage: python -m evaluation.quote_eval [-v] [--gold FILE]", file=sys.stderr)
            return 2
        gold_file = Path(argv[i + 1])
    if not gold_file.is_file():
        print(f"error: no gold file at {gold_file} (set STORYDESK_SHARED, or pass --gold FILE)", file=sys.stderr)
        return 2
    gold = [json.loads(line) for line in gold_file.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    verbose = "-v" in argv
    stories = sorted({g["story"] for g in gold})
    all_quotes: list[Quote] = []
    for sid in stories:
        path = _find_story_file(corpus, sid)
        if path is None:
            print(f"{sid}: story file not found", file=sys.stderr)
            continue
        story = load_story(path)
        if story.id != sid:
            story = Story(sid, story.headline, tuple(Paragraph(sid, p.number, p.text)
                                                     for p in story.paragraphs))
        quotes = extract_quotes(story)
        all_quotes.extend(quotes)
        s_gold = [g for g in gold if g["story"] == sid]
        r = score_quotes(s_gold, quotes)
        print(f"{sid:40s} gold {r['gold']:3d}  recall {r['recall']:.2f}  "
              f"speaker {r['speaker_recall']:.2f}  precision {r['precision']:.2f} "
              f"({r['correct']}/{r['system_direct_4plus']})")
        if verbose:
            _explain(s_gold, quotes)
    r = score_quotes(gold, all_quotes)
    print(f"{'OVERALL':40s} gold {r['gold']:3d}  recall {r['recall']:.3f}  "
          f"speaker {r['speaker_recall']:.3f}  precision {r['precision']:.3f} "
          f"({r['correct']}/{r['system_direct_4plus']})")
    return 0


def _explain(gold: list[dict], quotes: list[Quote]) -> None:
    """Print misses and wrong speakers for one story."""
    for g in gold:
        cands = [q for q in quotes if contains_quote(q.text, g["quote"])]
        if not cands:
            print(f"    MISS  {g['speaker']}: {g['quote'][:70]}")
        elif not any(_names_speaker(q.speaker, g) for q in cands):
            print(f"    WRONG {g['speaker']} -> {cands[0].speaker}: {g['quote'][:60]}")
    for q in quotes:
        if q.kind == "direct" and len(q.text.split()) >= 4 and not any(
            contains_quote(q.text, g["quote"]) and _names_speaker(q.speaker, g) for g in gold
        ):
            print(f"    EXTRA {q.speaker}: {q.text[:70]}")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
