"""The plain pipeline on question files: the yardstick the issue asks every figure to stand beside.

    python -m evaluation.plain_eval FILE.jsonl [...]

The design card taken literally (:mod:`bench.plain`): a story file split on blank lines, the base
all-MiniLM-L6-v2 through ``SentenceTransformer.encode``, inner product, top 3; no cleaning, no
sentences, no lexical signal, no reader, no answerability. Each question is asked of its own story,
as ``storydesk eval`` asks it. A hit is a paragraph that contains a gold span, as there (folded
text, :func:`evaluation.evaluate.contains_folded`). The plain pipeline shows whole paragraphs, names no
speaker and declines nothing, so only hit@1 and hit@3 are reported; its negatives declined are 0.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bench.plain import load_model, split_paragraphs
from evaluation.evaluate import BUNDLED_ID, contains_folded, find_story_files

CORPUS = [Path(__file__).resolve().parents[1] / "stories",
          Path(__file__).resolve().parents[2] / "shared" / "corpus"]


def plain_figures(files: list[Path], corpus: list[Path]) -> dict[str, float]:
    rows = [json.loads(line) for f in files for line in Path(f).read_text().splitlines() if line.strip()]
    questions = [r for r in rows if "question" in r and r.get("gold")]
    paths = find_story_files({r["story"] for r in questions}, corpus)
    missing = {r["story"] for r in questions} - set(paths)
    if missing:
        raise FileNotFoundError(f"stories not found under {corpus}: {sorted(missing)}")
    model = load_model()
    paragraphs = {sid: split_paragraphs(path) for sid, path in paths.items()}
    vectors = {sid: model.encode(texts, normalize_embeddings=True) for sid, texts in paragraphs.items()}
    counts: dict[str, list[int]] = {"story": [0, 0, 0], "archive": [0, 0, 0]}  # n, hit@1, hit@3
    for row in questions:
        sid = row["story"]
        q = model.encode([row["question"]], normalize_embeddings=True)[0]
        top = np.argsort(-(vectors[sid] @ q), kind="stable")[:3]
        hits = [any(contains_folded(paragraphs[sid][i], g) for g in row["gold"]) for i in top]
        c = counts["story" if sid == BUNDLED_ID else "archive"]
        c[0] += 1
        c[1] += hits[0]
        c[2] += any(hits)
    out: dict[str, float] = {}
    for name, (n, h1, h3) in counts.items():
        if n:
            out.update({f"plain_{name}_questions": n, f"plain_{name}_hit@1": round(h1 / n, 3),
                        f"plain_{name}_hit@3": round(h3 / n, 3)})
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evaluation.plain_eval", description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--corpus", nargs="*", type=Path, default=CORPUS)
    args = p.parse_args(argv)
    for key, value in plain_figures(args.files, args.corpus).items():
        print(f"{key:<28} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
