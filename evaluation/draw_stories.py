"""Draw archive stories for annotation and give each a frozen split (train / dev / test).

The split is a property of the story, never of a question: near-duplicate stories (the archive
holds some twice under other headlines) share their first body paragraph, and a group of them
always lands in one split, so no test story has a twin in training. Stories already in an
``eval/`` set or in ``../shared/eval`` are left out. Seeded, so the draw can be repeated.

    python -m evaluation.draw_stories   # writes eval/annotation/assign-*.tsv (every round)
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "bbc-2005"
OUT = ROOT / "eval" / "annotation"
SEED = 20261201
SPLITS = (("test", 15), ("dev", 15), ("train", 70))  # percent, by story group


def split_of(group_key: str) -> str:
    """The story group's split: a hash, so it never depends on what else was drawn."""
    bucket = int(hashlib.sha256(f"{SEED}:{group_key}".encode()).hexdigest(), 16) % 100
    edge = 0
    for name, share in SPLITS:
        edge += share
        if bucket < edge:
            return name
    return "train"


def group_key(path: Path) -> str:
    """First body paragraph, folded: stories that share it are one group."""
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()[1:] if ln.strip()]
    first = re.sub(r"\W+", " ", lines[0].lower()) if lines else path.stem
    return first[:200]


def used_story_ids() -> set[str]:
    """Stories already in an evaluation set."""
    used: set[str] = set()
    for f in [*(ROOT / "eval").rglob("*.jsonl"), *(ROOT.parent / "shared" / "eval").rglob("*.jsonl")]:
        if "annotation" in f.parts or "reader" in f.parts or "quotes" in f.parts:
            continue
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                used.add(json.loads(line)["story"])
    return used


def main() -> None:
    paths = sorted(CORPUS.glob("*/*.txt"))
    used = used_story_ids()
    groups: dict[str, list[Path]] = {}
    for p in paths:
        groups.setdefault(group_key(p), []).append(p)
    used_groups = {k for k, ps in groups.items() if any(p.stem in used for p in ps)}
    # One story per group (the first), from groups no eval set touches.
    pool = [(k, ps[0]) for k, ps in sorted(groups.items()) if k not in used_groups]
    rng = random.Random(SEED)
    rng.shuffle(pool)
    quoted = [(k, p) for k, p in pool if p.read_text(encoding="utf-8").count('"') >= 8]
    # Quote writers: 2 x 105 stories that quote people; question writers: 4 x 110 stories.
    quote_pick = quoted[:210]
    taken = {k for k, _ in quote_pick}
    question_pick = [(k, p) for k, p in pool if k not in taken][:440]
    OUT.mkdir(parents=True, exist_ok=True)
    order = {"test": 0, "dev": 1, "train": 2}

    def write(name: str, rows: list[tuple[str, Path]]) -> None:
        lines = sorted(
            ((split_of(k), p) for k, p in rows), key=lambda sp: (order[sp[0]], sp[1].stem)
        )
        text = "".join(f"{s}\t{p.stem}\t{p.relative_to(ROOT.parent)}\n" for s, p in lines)
        (OUT / f"assign-{name}.tsv").write_text(text, encoding="utf-8")

    for i in range(2):
        write(f"quotes-{i + 1}", quote_pick[i * 105 : (i + 1) * 105])
    for i in range(4):
        write(f"questions-{i + 1}", question_pick[i * 110 : (i + 1) * 110])

    # Later rounds (2026-12-02): more training data for the reader, writers w5-w10, w11-w16, then
    # w17-w19 on the rest of the pool: the next stories of the same shuffled pool, test-split groups
    # skipped (the test split is frozen; new stories only widen train and dev).
    taken |= {k for k, _ in question_pick}
    for first_writer, writers, per_writer in ((5, 6, 80), (11, 6, 80), (17, 3, 63)):
        batch = [(k, p) for k, p in pool if k not in taken and split_of(k) != "test"][: writers * per_writer]
        taken |= {k for k, _ in batch}
        for i in range(writers):
            write(f"questions-{first_writer + i}", batch[i * per_writer : (i + 1) * per_writer])

if __name__ == "__main__":
    main()
