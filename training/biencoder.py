"""``make train``, step 1: fine-tune the bi-encoder (all-MiniLM-L6-v2) on question -> answer pairs.

    python -m training.biencoder                         # story batches -> index/weights/biencoder/
    python -m training.biencoder --out DIR               # write elsewhere (experiments)
    python -m training.biencoder --batching random       # the weaker setting, for comparison
    python -m training.biencoder --pipeline DIR [DIR..]  # no training: dev through search + reader

What it writes is what storydesk embeds with (:mod:`index.embed` lays it over the checksummed
package model): every layer but the word embeddings (frozen here, so the reader keeps sharing the
base's matrix) as fp16 safetensors, and a card with its sha256 and the dev figures. Seeded, one
torch thread, deterministic algorithms: the same files give the same weights on the same CPU. On
another CPU torch and MKL pick other kernels, which round differently: stop 25 got three other sha256
on an AVX-512/AMX machine (default, ``MKL_CBWR=AVX2``, and that with ``ATEN_CPU_CAPABILITY=avx2``
and ``ONEDNN_MAX_CPU_ISA=AVX2``), each with dev hit@1 0.778 against the committed 0.781, and a
second default run there reproduced its first bit for bit. The reader
(``training/reader.py``, step 2) then learns on this model's shortlists. The test split
(``eval/reader/test``) is never read.

Steps:

1. pairs: for each answerable question of ``eval/reader/train``, (question, gold sentence) for every
   sentence of its story that :func:`training.data.is_gold` marks (the units storydesk embeds:
   :func:`index.text.sentences` of each paragraph);
2. fine-tune a copy of the package model with sentence-transformers' ``MultipleNegativesRankingLoss``
   (in-batch negatives; batches of one story's questions, word embeddings frozen).
   sentence-transformers' own trainers (``SentenceTransformerTrainer`` and the legacy ``fit``,
   which now wraps it) need the ``datasets`` package, which storydesk does not install;
   so the loop here is plain torch around the library's loss and model (AdamW, linear decay after 10%
   warm-up, as the trainer does), with the library's no-duplicates rule: a text appears once per batch,
   so a question's second gold sentence is never its in-batch negative;
3. evaluate, story-scoped and dense only: rank every sentence of the question's story by cosine with
   the question, for the base and the fine-tuned model: hit@1, hit@3 and MRR of the first gold
   sentence; the mean top-1 cosine of answerable and unanswerable questions and the AUC of top-1
   cosine as an answerability score (does fine-tuning separate them better?), on dev.

Results (2 shared cores, one torch thread, seed 20261201; 1,412 pairs from 1,425 answerable train
questions; dev: 275 answerable + 76 unanswerable questions over 61 stories, 867 sentences; two runs
of the same setting gave identical figures). hit@k and MRR are over all answerable questions (the
5 dev / 21 train whose gold matches no sentence count as misses); AUC is the top-1 cosine as a score
of answerability (0.5 = none):

| split / model | answerable (matched) | hit@1 | hit@3 | MRR | top-1 cos answerable | unanswerable | AUC |
|---|---|---|---|---|---|---|---|
| dev / base | 275 (270) | 0.491 | 0.735 | 0.640 | 0.625 | 0.590 | 0.596 |
| dev / tuned, random batches | 275 (270) | 0.513 | 0.793 | 0.669 | 0.602 | 0.558 | 0.620 |
| dev / tuned, story batches | 275 (270) | 0.611 | 0.833 | 0.741 | 0.577 | 0.517 | 0.663 |
| train / base | 1425 (1404) | 0.518 | 0.771 | 0.666 | 0.634 | 0.582 | 0.642 |
| train / tuned, random batches | 1425 (1404) | 0.601 | 0.844 | 0.735 | 0.615 | 0.547 | 0.674 |
| train / tuned, story batches | 1425 (1404) | 0.700 | 0.895 | 0.804 | 0.590 | 0.503 | 0.732 |

Both 1 epoch, batch 32, lr 2e-5, 45 steps; training took 204 s (random) and 145 s (story) on a
loaded machine. Paired on dev, random batches gain 11 / lose 5 questions at hit@1 (McNemar p = 0.21,
not significant) and +17 / -1 at hit@3; story batches (in-batch negatives from the same story, the
ones a story-scoped ranking must beat) gain 38 / lose 5 at hit@1 and +29 / -2 at hit@3 (p < 0.001).
For scale: search's first stage (dense + BM25 + bonuses, base model) scores dev hit@1 0.538 and the
reader over its top 4 0.607 (``index/weights/reader/reader.json``); the story-batch bi-encoder alone
reaches the reader's hit@1 on dev. Unanswerable questions stay poorly separated by cosine (AUC 0.66).

Through the whole pipeline on dev (``--pipeline``: search's hybrid first stage with the weights tuned
for the base model, then the committed reader, trained on the base's first-stage scores, its
threshold re-picked on dev to decline at most 5% of answerable questions):

| bi-encoder | first stage hit@1 | recall@3 | recall@4 | recall@8 | reader hit@1 (top 4) | negatives declined |
|---|---|---|---|---|---|---|
| base | 0.538 | 0.782 | 0.847 | 0.949 | 0.607 | 0.382 |
| tuned, random batches | 0.549 | 0.822 | 0.884 | 0.967 | 0.647 | 0.355 |
| tuned, story batches | 0.629 | 0.851 | 0.902 | 0.967 | 0.662 | 0.329 |

The setting was chosen on dev among two, so these dev figures flatter it slightly; only the frozen
test split can confirm it, and the reader (and its prior) would be retrained on the new first stage.

The figures above are stop 18's, on the first round of data. With all three rounds (2026-12-02:
6,217 pairs from 6,146 answerable train questions over 1,096 stories; 195 steps, 769 s on one
thread), on the new dev split (1,367 answerable questions over 244 stories): hit@1 base 0.567, the
stop-18 model 0.708, this one 0.765; hit@3 0.795 / 0.898 / 0.939; AUC of top-1 cosine as
answerability 0.595 / 0.689 / 0.725. With the fourth round (9,341 train questions; 7,173 pairs;
574 s), on the dev split of 1,563 answerable questions over 276 stories: hit@1 base 0.575, this
model 0.781; hit@3 0.802 / 0.940; AUC 0.599 / 0.736.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import (
    FROM_BASE,
    TUNED_CARD,
    TUNED_DIR,
    TUNED_FILE,
    WEIGHTS_SHA256,
    Embedder,
    package_model_dir,
    sha256_of,
    verify_weights,
)
from index.ingest import load_story
from index.text import sentences
from training.data import REPO, is_gold, read_questions, story_paths

SEED = 20261201
TRAIN_DIR = REPO / "eval" / "reader" / "train"
DEV_DIR = REPO / "eval" / "reader" / "dev"
WARMUP = 0.1  # share of steps with a rising learning rate


@dataclass(frozen=True)
class Question:
    """A question with the index of its story's gold sentences (empty when unanswerable or unmatched)."""

    text: str
    story: str
    answerable: bool
    gold_rows: tuple[int, ...]


@dataclass(frozen=True)
class Split:
    """A split's questions and the sentences of their stories."""

    questions: list[Question]
    sentences: dict[str, list[str]]  # story id -> its sentences, in order


@dataclass(frozen=True)
class Figures:
    """Dense story-scoped figures of one model on one split."""

    answerable: int  # the denominator of hit@k and MRR (an unmatched gold counts as a miss)
    matched: int  # answerable questions whose gold matches one of the story's sentences
    hit1: float
    hit3: float
    mrr: float
    top1_answerable: float
    top1_unanswerable: float
    auc: float  # P(top-1 cosine of an answerable question > that of an unanswerable one)
    ranks: tuple[float, ...]  # per answerable question, for the paired comparison


def paired(base: Figures, tuned: Figures, k: int) -> str:
    """Questions that the fine-tuned model gains and loses at hit@k, with McNemar's exact p-value."""
    a, b = np.asarray(base.ranks) <= k, np.asarray(tuned.ranks) <= k
    gains, losses = int((b & ~a).sum()), int((a & ~b).sum())
    n = gains + losses
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(min(gains, losses) + 1)) / 2**n) if n else 1.0
    return f"hit@{k}: +{gains} / -{losses} questions (McNemar exact p = {p:.2g})"


def story_sentences(story_ids: set[str]) -> dict[str, list[str]]:
    out = {}
    for sid, path in story_paths(story_ids).items():
        story = load_story(path)
        out[sid] = [span.text for p in story.paragraphs for span in sentences(p.text)]
    return out


def read_split(folder: Path) -> Split:
    raw = read_questions(sorted(folder.glob("questions-w*.jsonl")))
    texts = story_sentences({q["story"] for q in raw})
    questions = []
    for q in raw:
        gold = q.get("gold") or []
        rows = tuple(i for i, s in enumerate(texts[q["story"]]) if gold and is_gold(s, gold))
        questions.append(Question(q["question"], q["story"], bool(gold), rows))
    return Split(questions, texts)


def batches(pairs: list[tuple[str, str]], size: int, by_story: list[str] | None,
            rng: random.Random) -> list[list[tuple[str, str]]]:
    """Shuffled batches in which no text occurs twice (sentence-transformers' NoDuplicates rule).

    With ``by_story`` (each pair's story) the pairs of a story stay together, so the in-batch
    negatives include sentences of the same story: the ones the story-scoped ranking must beat.
    """
    order = list(range(len(pairs)))
    rng.shuffle(order)
    if by_story is not None:
        stories = sorted(set(by_story))
        rng.shuffle(stories)
        rank = {s: i for i, s in enumerate(stories)}
        order.sort(key=lambda i: rank[by_story[i]])
    out: list[list[tuple[str, str]]] = []
    pending = [pairs[i] for i in order]
    while pending:
        batch: list[tuple[str, str]] = []
        seen: set[str] = set()
        rest = []
        for pair in pending:
            if len(batch) < size and not (set(pair) & seen):
                batch.append(pair)
                seen.update(pair)
            else:
                rest.append(pair)
        out.append(batch)
        pending = rest
    if by_story is not None:
        rng.shuffle(out)  # stories stay together within a batch, batches in random order
    return out


def fine_tune(pairs: list[tuple[str, str]], pair_stories: list[str], epochs: int, batch_size: int,
              lr: float, batching: str):
    """Fine-tune a copy of the package model with MultipleNegativesRankingLoss; return its BERT."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers import get_linear_schedule_with_warmup

    model = SentenceTransformer(str(package_model_dir()), device="cpu", local_files_only=True)
    bert: Any = model[0].auto_model  # transformers' BertModel (typed as Tensor | Module by torch)
    # Frozen: the reader shares the base model's word-embedding matrix, and the saved file stays small.
    bert.get_input_embeddings().weight.requires_grad_(False)
    loss_fn = MultipleNegativesRankingLoss(model)
    rng = random.Random(SEED)
    plan = [batches(pairs, batch_size, pair_stories if batching == "story" else None, rng)
            for _ in range(epochs)]
    steps = sum(len(p) for p in plan)
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimiser, int(WARMUP * steps), steps)
    model.train()
    step = 0
    for epoch in plan:
        for batch in epoch:
            features = [model.preprocess([p[0] for p in batch]), model.preprocess([p[1] for p in batch])]
            loss = loss_fn(features, torch.zeros(len(batch)))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            if step % 10 == 0 or step == steps:
                print(f"  step {step}/{steps} loss {loss.item():.4f}", flush=True)
    return bert.eval()


def save(bert, folder: Path) -> str:
    """Write what training changed (not the base's word embeddings, not the unused pooler) as fp16
    safetensors; return its sha256."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().half().contiguous() for k, v in bert.state_dict().items() if not k.startswith(FROM_BASE)}
    save_file(state, str(folder / TUNED_FILE))
    return sha256_of(folder / TUNED_FILE)


def auc(pos: list[float], neg: list[float]) -> float:
    """Mann-Whitney AUC: the chance a random ``pos`` score beats a random ``neg`` one (ties count half)."""
    if not pos or not neg:
        return float("nan")
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def evaluate(encode: Callable[[list[str]], np.ndarray], split: Split) -> Figures:
    """Story-scoped dense ranking of every sentence of each question's story (``encode``: L2-normalised)."""
    stories = sorted(split.sentences)
    vectors = encode([s for sid in stories for s in split.sentences[sid]])
    by_story, at = {}, 0
    for sid in stories:
        n = len(split.sentences[sid])
        by_story[sid] = vectors[at : at + n]
        at += n
    qvecs = encode([q.text for q in split.questions])
    ranks: list[float] = []
    top_ans: list[float] = []
    top_un: list[float] = []
    for q, qv in zip(split.questions, qvecs, strict=True):
        scores = by_story[q.story] @ qv
        (top_ans if q.answerable else top_un).append(float(scores.max()))
        if q.gold_rows:
            best_gold = scores[list(q.gold_rows)].max()
            ranks.append(1 + int((scores > best_gold).sum()))
        elif q.answerable:
            ranks.append(np.inf)  # the annotator's gold is in no sentence (e.g. the headline): a miss
    r = np.asarray(ranks)
    return Figures(len(r), int(np.isfinite(r).sum()), float((r == 1).mean()), float((r <= 3).mean()),
                   float((1 / r).mean()),
                   float(np.mean(top_ans)), float(np.mean(top_un)) if top_un else float("nan"),
                   auc(top_ans, top_un), tuple(ranks))


def table(rows: dict[str, Figures]) -> str:
    head = "| split / model | answerable (matched) | hit@1 | hit@3 | MRR | top-1 cos answerable | unanswerable | AUC |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for name, f in rows.items():
        lines.append(f"| {name} | {f.answerable} ({f.matched}) | {f.hit1:.3f} | {f.hit3:.3f} | {f.mrr:.3f} | "
                     f"{f.top1_answerable:.3f} | {f.top1_unanswerable:.3f} | {f.auc:.3f} |")
    return "\n".join(lines)


def pipeline(folders: list[Path]) -> dict[str, dict]:
    """Dev through search's own first stage and the committed reader: the base model, then each
    folder's fine-tuned layers laid over it. The hybrid weights and the reader stay as they are;
    the decline threshold is re-picked on dev as ``make train`` does."""
    from index.search.reader import WEIGHTS_DIR
    from training.data import build_index, examples
    from training.reader import calibrated

    train_q = read_questions(sorted(TRAIN_DIR.glob("*.jsonl")))  # indexed too: BM25's statistics
    dev_q = read_questions(sorted(DEV_DIR.glob("*.jsonl")))
    out = {}
    for folder in [None, *folders]:
        embedder = Embedder.load(tuned_dir=folder, bf16=False)
        with tempfile.TemporaryDirectory(prefix="storydesk-bienc-") as tmp:
            state = build_index(train_q + dev_q, Path(tmp), embedder)
            dev = examples(dev_q, state, embedder, 20, add_missing_gold=False)
        answerable = [e for e in dev if e.answerable]
        recall = {k: round(float(np.mean([max(e.labels[:k], default=0.0) for e in answerable])), 3)
                  for k in (1, 3, 4, 8, 20)}
        name = str(folder or "base")
        out[name] = {"first_stage_recall@k": recall, **calibrated(WEIGHTS_DIR, dev, dev_q)}
        print(name, json.dumps(out[name]), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.biencoder",
                                description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--batching", choices=("random", "story"), default="story")
    p.add_argument("--out", type=Path, default=TUNED_DIR)
    p.add_argument("--pipeline", type=Path, nargs="+", metavar="TUNED_DIR",
                   help="no training: score dev through search and the reader with the base and these")
    args = p.parse_args(argv)

    import torch

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # a shared 2-core machine; and one thread sums in one order
    verify_weights(package_model_dir())
    if args.pipeline:
        pipeline(args.pipeline)
        return 0

    train, dev = read_split(TRAIN_DIR), read_split(DEV_DIR)
    pairs = [(q.text, train.sentences[q.story][r]) for q in train.questions for r in q.gold_rows]
    pair_stories = [q.story for q in train.questions for _ in q.gold_rows]
    for name, split in (("train", train), ("dev", dev)):
        qs = split.questions
        print(f"{name}: {len(qs)} questions, {sum(q.answerable for q in qs)} answerable, "
              f"{sum(bool(q.gold_rows) for q in qs)} with a gold sentence matched, "
              f"{len(split.sentences)} stories, {sum(map(len, split.sentences.values()))} sentences")
    print(f"pairs: {len(pairs)}; {args.epochs} epoch(s), batch {args.batch_size}, lr {args.lr}, "
          f"{args.batching} batches", flush=True)

    base = evaluate(Embedder.load(tuned_dir=None, bf16=False).encode, dev)
    start = time.perf_counter()
    bert = fine_tune(pairs, pair_stories, args.epochs, args.batch_size, args.lr, args.batching)
    seconds = time.perf_counter() - start
    card: dict[str, object] = {"sha256": save(bert, args.out), "base_sha256": WEIGHTS_SHA256}
    (args.out / TUNED_CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    del bert
    tuned = evaluate(Embedder.load(tuned_dir=args.out, bf16=False).encode, dev)  # the fp16 file, as served
    print(f"training: {seconds:.0f} s (one torch thread); weights in {args.out}", flush=True)
    print(table({"dev / base": base, "dev / fine-tuned": tuned}))
    for k in (1, 3):
        print(f"dev {paired(base, tuned, k)}")
    card["training"] = {
        "seed": SEED, "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
        "batching": args.batching, "pairs": len(pairs), "seconds": round(seconds),
        "dev_dense": {name: {f: round(getattr(fig, f), 3) for f in ("hit1", "hit3", "mrr", "auc")}
                      for name, fig in (("base", base), ("fine-tuned", tuned))},
    }
    (args.out / TUNED_CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
