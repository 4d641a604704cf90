"""Score quote attribution against gold quote files (direct and indirect, per speaker type).

    python -m evaluation.attribution_eval --gold eval/quotes/dev/*.jsonl [-v] [--rules old|new]

Gold lines: ``{"story", "speaker", "aliases", "role", "speaker_type", "kind", "quote", ...}``
(``kind`` and ``speaker_type`` default to ``direct`` / ``person``, so the older
``../shared/eval/dev/quotes.jsonl`` and ``eval/heldout/quotes-*.jsonl`` score too). Stories are
read from ``../shared/corpus/bbc-2005/*/<story>.txt`` through the project's own ingest
(``index.ingest.load_story``), so paragraphs are those the bot indexes.

Following ``../shared/eval/README.md``'s quote scoring, extended:

- direct gold quotes: *found* when a system quote's text contains the gold text or is a 4+ word
  part of it; *right speaker* when such a system quote names the gold speaker (the name, an
  alias or the surname; a pronoun never counts; for organisations, groups and unnamed speakers,
  a fair match of the description: the system speaker or its role shares a content word with
  the gold speaker, its aliases or role: "Royal Mail" (role "spokeswoman") for "A spokeswoman
  for Royal Mail"); *precision*: system direct quotes of 4+ words in the scored
  stories that match a gold quote with the right speaker, over all of them.
- indirect gold quotes: *right speaker* when a system ``indirect`` quote covers at least half the
  gold clause's words and names the speaker as above.

Every figure is also given per ``speaker_type``. ``-v`` lists misses, wrong speakers and extras:
use it on train and dev only, never on a frozen test split.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from evaluation.quote_eval import contains_quote
from index.models import Paragraph, Quote, Story
from index.text import fold

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "bbc-2005"
PRONOUNS = {"he", "she", "they", "it", "him", "her", "them", "we", "i", "you"}
# Words that say nothing about who a body or an unnamed speaker is.
_FILLER = {"the", "a", "an", "of", "for", "at", "in", "on", "to", "and", "its", "his", "her",
           "their", "s", "from", "by", "with", "said", "who", "one"}
RULES = {"old": "index.quotes", "new": "index.attribution"}  # old: gone since the switch


def _content(text: str) -> set[str]:
    return {w for w in fold(text).split() if w not in _FILLER}


def names_speaker(system_speaker: str, gold: dict, system_role: str = "") -> bool:
    """Does the system's speaker name the gold speaker (see the module docstring)?"""
    said = fold(system_speaker)
    if not said or said in PRONOUNS:
        return False
    full = fold(gold["speaker"])
    names = {full, *(fold(a) for a in gold.get("aliases") or [])}
    if full.split():
        names.add(full.split()[-1])
    names = {n.removeprefix("the ") for n in names} | names
    if said in names or said.removeprefix("the ") in names:
        return True
    if gold.get("speaker_type", "person") == "person":
        return False
    pool = _content(gold["speaker"]) | _content(gold.get("role") or "")
    for a in gold.get("aliases") or []:
        pool |= _content(a)
    return bool((_content(system_speaker) | _content(system_role)) & pool)


def _overlaps(system_text: str, gold_text: str) -> bool:
    """The system clause covers at least half the gold clause's words."""
    g = fold(gold_text).split()
    if not g:
        return False
    s = set(fold(system_text).split())
    return sum(w in s for w in g) >= len(g) / 2


def score(gold: Sequence[dict], system: Sequence[Quote]) -> dict:
    """Counts and ratios, overall and per speaker type (see the module docstring)."""
    by_story: dict[str, list[Quote]] = defaultdict(list)
    for q in system:
        by_story[q.story].append(q)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for g in gold:
        kind = g.get("kind", "direct")
        types = ("all", g.get("speaker_type") or "person")
        quotes = by_story.get(g["story"], [])
        if kind == "direct":
            cands = [q for q in quotes if contains_quote(q.text, g["quote"])]
        else:
            cands = [q for q in quotes if q.kind == "indirect" and _overlaps(q.text, g["quote"])]
        hit, right = bool(cands), any(names_speaker(q.speaker, g, q.role) for q in cands)
        plain = any(names_speaker(q.speaker, g) for q in cands)  # the role not counted
        for t in types:
            c = counts[t]
            c[f"{kind}"] += 1
            c[f"{kind}_found"] += hit
            c[f"{kind}_right"] += right
            c[f"{kind}_right_plain"] += plain
    golds: dict[str, list[dict]] = defaultdict(list)
    for g in gold:
        if g.get("kind", "direct") == "direct":
            golds[g["story"]].append(g)
    stories = {g["story"] for g in gold}
    for q in system:
        if q.story not in stories or q.kind != "direct" or len(q.text.split()) < 4:
            continue
        counts["all"]["system"] += 1
        counts["all"]["correct"] += any(
            contains_quote(q.text, g["quote"]) and names_speaker(q.speaker, g, q.role)
            for g in golds[q.story])
        counts["all"]["correct_plain"] += any(
            contains_quote(q.text, g["quote"]) and names_speaker(q.speaker, g) for g in golds[q.story])
    return {t: dict(c) for t, c in counts.items()}


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "  -  "


def report(result: dict) -> str:
    """One table: per speaker type, direct found / right speaker, indirect right speaker."""
    lines = [f"{'speaker type':14s} {'direct':>6s} {'found':>6s} {'right':>6s}   "
             f"{'indirect':>8s} {'found':>6s} {'right':>6s}"]
    order = ["all"] + sorted(t for t in result if t != "all")
    for t in order:
        c = defaultdict(int, result[t])
        lines.append(f"{t:14s} {c['direct']:6d} {_ratio(c['direct_found'], c['direct']):>6s} "
                     f"{_ratio(c['direct_right'], c['direct']):>6s}   {c['indirect']:8d} "
                     f"{_ratio(c['indirect_found'], c['indirect']):>6s} "
                     f"{_ratio(c['indirect_right'], c['indirect']):>6s}")
    c = defaultdict(int, result["all"])
    lines.append(f"precision (system direct quotes of 4+ words with the right speaker): "
                 f"{_ratio(c['correct'], c['system'])} ({c['correct']}/{c['system']})")
    lines.append(f"the same, a body's or unnamed speaker's role not counted in the match: direct "
                 f"right {_ratio(c['direct_right_plain'], c['direct'])}, indirect right "
                 f"{_ratio(c['indirect_right_plain'], c['indirect'])}, precision "
                 f"{_ratio(c['correct_plain'], c['system'])}")
    return "\n".join(lines)


def load_gold(files: Iterable[Path]) -> list[dict]:
    out = []
    for f in files:
        for line in Path(f).read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line))
    return out


def load_stories(ids: Iterable[str]) -> list[Story]:
    """Stories by id from the archive, read with the project's ingest."""
    from index.ingest import load_story

    out = []
    for sid in sorted(set(ids)):
        hits = sorted(CORPUS.glob(f"*/{sid}.txt"))
        if not hits:
            print(f"{sid}: story file not found", file=sys.stderr)
            continue
        story = load_story(hits[0])
        if story.id != sid:
            story = Story(sid, story.headline, tuple(Paragraph(sid, p.number, p.text)
                                                     for p in story.paragraphs))
        out.append(story)
    return out


def extractor(rules: str) -> Callable[[Story], list[Quote]]:
    module = importlib.import_module(RULES.get(rules, rules))
    extract: Callable[[Story], list[Quote]] = module.extract_quotes
    return extract


def explain(gold: Sequence[dict], quotes: Sequence[Quote]) -> None:
    """Print misses, wrong speakers and extras (train and dev only)."""
    for g in gold:
        kind = g.get("kind", "direct")
        if kind == "direct":
            cands = [q for q in quotes if contains_quote(q.text, g["quote"])]
        else:
            cands = [q for q in quotes if q.kind == "indirect" and _overlaps(q.text, g["quote"])]
        tag = "D" if kind == "direct" else "I"
        st = (g.get("speaker_type") or "person")[:3]
        if not cands:
            print(f"  {tag} MISS  [{st}] {g['speaker']}: {g['quote'][:90]}")
        elif not any(names_speaker(q.speaker, g, q.role) for q in cands):
            print(f"  {tag} WRONG [{st}] {g['speaker']} -> {cands[0].speaker}: {g['quote'][:70]}")
    directs = [g for g in gold if g.get("kind", "direct") == "direct"]
    for q in quotes:
        if q.kind == "direct" and len(q.text.split()) >= 4 and not any(
                contains_quote(q.text, g["quote"]) and names_speaker(q.speaker, g, q.role) for g in directs):
            print(f"  D EXTRA {q.speaker}: {q.text[:90]}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.attribution_eval")
    parser.add_argument("--gold", nargs="+", required=True, type=Path)
    parser.add_argument("--rules", default="new", help="old (index.quotes), new (index.attribution)"
                        " or a module with extract_quotes")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    gold = load_gold(args.gold)
    extract = extractor(args.rules)
    stories = load_stories(g["story"] for g in gold)
    system: list[Quote] = []
    for story in stories:
        quotes = extract(story)
        system.extend(quotes)
        if args.verbose:
            print(f"{story.id}")
            explain([g for g in gold if g["story"] == story.id], quotes)
    bodies = {s.id: " ".join(fold(p.text) for p in s.paragraphs) for s in stories}
    lost = sum(fold(g["quote"]) not in bodies.get(g["story"], "") for g in gold)
    kinds = {k: sum(g.get("kind", "direct") == k for g in gold) for k in ("direct", "indirect")}
    print(f"{len(stories)} stories, {len(gold)} gold quotes ({kinds['direct']} direct, "
          f"{kinds['indirect']} indirect; {lost} not in the text ingest keeps) ({args.rules} rules)")
    print(report(score(gold, system)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
