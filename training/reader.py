"""``make train``: fine-tune the reader (cross-encoder) and write its weights and card.

    python -m training.reader            # train on eval/reader/train, calibrate on eval/reader/dev
    python -m training.reader --out DIR  # write elsewhere (experiments); default index/weights/reader

Seeded and deterministic on the CPU: the same files and ``--threads`` give the same weights on the
same CPU (``make train`` uses two; a different thread count, or another CPU's kernels, sums in
another order, so other weights: see :mod:`training.biencoder`). The test split
(``eval/reader/test``) is never read here. Steps:

1. index the stories of the train and dev questions (the same pipeline search uses);
2. shortlist each train question's passages as search would, label them by the gold spans;
3. train all-MiniLM-L6-v2's first ``--layers`` layers with a linear head on mean-pooled tokens, a listwise loss
   per question (its passages and "none of them"), word embeddings frozen (so only the rest is saved);
   with ``--teacher DIR``, the loss mixes in the choice a larger trained reader makes over the same
   passages (distillation: the student learns how sure the teacher is, not only which passage is gold);
4. on dev, for each precision search may run in (float32, which bf16 matches, and int8): pick the
   decline threshold, the highest that declines at most 5% of the answerable questions of *each*
   writers' round (a threshold fitted to the pooled dev declined 7-9% of the questions of the
   round least like the rest: users are new writers); report hit@1 per shortlist size.

    python -m training.reader --calibrate-only   # re-pick the committed reader's thresholds
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from index.embed import Embedder, sha256_of
from index.search.reader import CARD_FILE, FROZEN, WEIGHTS_DIR, WEIGHTS_FILE, Reader, ReaderCard, build_model
from training.data import REPO, Example, build_index, examples, read_questions, shortlist_recall

SEED = 20261201
TRAIN_DIR = REPO / "eval" / "reader" / "train"
DEV_DIR = REPO / "eval" / "reader" / "dev"
MAX_DECLINED = 0.05  # share of each round's answerable dev questions the threshold may decline
# Writers by annotation round (eval/README.md): who wrote at the same time from the same brief.
WRITER_ROUNDS = (("round 1", range(1, 5)), ("round 2", range(5, 11)), ("round 3", range(11, 17)),
                 ("round 4", range(17, 20)))


def writer_round(writer: str) -> str:
    number = int(writer.lstrip("w"))
    for name, writers in WRITER_ROUNDS:
        if number in writers:
            return name
    raise ValueError(f"writer {writer!r} is in no round of WRITER_ROUNDS (training/reader.py); add it")


Group = tuple[str, list[str], list[float], list[float]]  # question, passages, priors, labels


def groups(exs: list[Example], negatives: int) -> list[Group]:
    """Per question: its positives and its ``negatives`` best-ranked negatives."""
    out = []
    for e in exs:
        pos = [i for i, y in enumerate(e.labels) if y]
        neg = [i for i, y in enumerate(e.labels) if not y][:negatives]
        keep = pos + neg
        if keep:
            out.append((e.question, [e.passages[i] for i in keep], [e.priors[i] for i in keep],
                        [e.labels[i] for i in keep]))
    return out


def listwise_loss(logits, labels):
    """-log P(the right choice) among the passages and "none of them" (a fixed logit of 0).

    For an answerable question the right choice is any positive passage; for an unanswerable one
    it is "none". Ranking and answerability come from one objective, and a sigmoid of a logit
    reads as the passage against "none" (pointwise BCE with 10% positives collapsed to a constant
    in the first run).
    """
    import torch

    scores = torch.cat([logits.new_zeros(1), logits])
    log_p = scores - torch.logsumexp(scores, dim=0)
    positive = labels > 0
    if positive.any():
        return -torch.logsumexp(log_p[1:][positive], dim=0)
    return -log_p[0]


def distill_loss(logits, teacher_logits):
    """Cross-entropy of the student's choice (passages and "none") against the teacher's."""
    import torch

    zero = logits.new_zeros(1)
    target = torch.softmax(torch.cat([zero, teacher_logits]), dim=0)
    log_p = torch.log_softmax(torch.cat([zero, logits]), dim=0)
    return -(target * log_p).sum()


def teacher_logits(folder: Path, data: list[Group]) -> list[np.ndarray]:
    """The trained reader in ``folder`` (float32), scoring every group's passages: its logits."""
    teacher = Reader.load(folder, precision="float32")
    out, started = [], time.time()
    for i, (question, passages, priors, _) in enumerate(data):
        out.append(teacher.logits(question, passages, np.array(priors, dtype=np.float32)))
        if (i + 1) % 1000 == 0:
            print(f"  teacher: {i + 1}/{len(data)} questions ({time.time() - started:.0f} s)", flush=True)
    return out


def train(data: list[Group], layers: int, epochs: int, max_length: int,
          per_step: int, lr: float, soft: list[np.ndarray] | None = None, soft_weight: float = 0.0):
    import torch
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    from index.embed import package_model_dir

    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    model = build_model(layers)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    tokenizer = AutoTokenizer.from_pretrained(str(package_model_dir()), local_files_only=True)
    params = [p for p in model.parameters() if p.requires_grad]
    head = [*model.head.parameters(), model.prior_weight, model.bias]
    body = [p for p in params if all(p is not h for h in head)]
    # The head starts from nothing: it learns faster than the pretrained layers under it.
    optimiser = torch.optim.AdamW([{"params": body, "lr": lr}, {"params": head, "lr": lr * 20}],
                                  weight_decay=0.01)
    steps = epochs * ((len(data) + per_step - 1) // per_step)
    schedule = get_linear_schedule_with_warmup(optimiser, int(0.1 * steps), steps)
    model.train()
    step, started, recent = 0, time.time(), []
    for epoch in range(epochs):
        order = list(range(len(data)))
        random.Random(SEED + epoch).shuffle(order)
        for a in range(0, len(order), per_step):
            chunk = [data[i] for i in order[a:a + per_step]]
            questions = [q for q, passages, _, _ in chunk for _ in passages]
            features = tokenizer(questions, [p for _, passages, _, _ in chunk for p in passages], padding=True,
                                 truncation=True, max_length=max_length, return_tensors="pt")
            prior = torch.tensor([x for _, _, priors, _ in chunk for x in priors], dtype=torch.float32)
            logits = model(**features, prior=prior)
            loss, at = logits.new_zeros(()), 0
            for i, (_, passages, _, labels) in zip(order[a:a + per_step], chunk, strict=True):
                mine = logits[at:at + len(passages)]
                loss = loss + (1 - soft_weight) * listwise_loss(mine, torch.tensor(labels))
                if soft is not None:
                    loss = loss + soft_weight * distill_loss(mine, torch.from_numpy(soft[i]))
                at += len(passages)
            loss = loss / len(chunk)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            recent.append(loss.item())
            if step % 25 == 0:
                print(f"  epoch {epoch + 1} step {step}/{steps} loss {np.mean(recent):.3f} "
                      f"({time.time() - started:.0f} s)", flush=True)
                recent = []
    model.eval()
    return model


def save(model, folder: Path) -> str:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").half().contiguous() for k, v in model.state_dict().items() if k != FROZEN}
    state.pop("bert.embeddings.position_ids", None)
    save_file(state, str(folder / WEIGHTS_FILE))
    return sha256_of(folder / WEIGHTS_FILE)


def _threshold(best: np.ndarray) -> float:
    """The highest threshold that declines at most MAX_DECLINED of these answerable questions."""
    ranked = np.sort(best)
    k = int(np.floor(MAX_DECLINED * len(ranked)))
    return float(np.nextafter(ranked[k], -1.0)) if len(ranked) else 0.5  # the k-th itself stays found


def calibrate(readers: dict[str, Reader], dev: list[Example], rounds: list[str]) -> dict:
    """Per precision, the decline threshold (keys as given: ``threshold`` for float32 and bf16,
    ``threshold_int8``); then, read by the first reader, hit@1 per shortlist size and the declines."""
    by_round = np.array(rounds)
    names = sorted(set(rounds))
    answerable = np.array([e.answerable for e in dev])
    out: dict = {}
    reports = []
    for key, reader in readers.items():
        probs = [reader.score(e.question, list(e.passages), np.array(e.priors)) for e in dev]
        best = np.array([float(p.max()) if len(p) else 0.0 for p in probs])
        out[key] = min(_threshold(best[answerable & (by_round == r)]) for r in names)
        reports.append((probs, best < out[key]))
    probs, declined = reports[0]
    sizes = {}
    for n in (4, 6, 8, 10, 12, 16, 20):
        hits = [e.labels[int(np.argmax(p[:n]))] if len(p) else 0.0
                for e, p in zip(dev, probs, strict=True) if e.answerable]
        sizes[n] = round(float(np.mean(hits)), 3) if hits else 0.0

    def share(mask: np.ndarray) -> float:
        return round(float(declined[mask].mean()), 3) if mask.any() else 0.0

    out["dev_hit@1_by_candidates"] = sizes
    out["dev_first_stage_hit@1"] = round(float(np.mean([e.labels[0] if e.labels else 0.0
                                                       for e in dev if e.answerable])), 3)
    out["dev_negatives_declined"] = share(~answerable)
    out["dev_answerable_declined"] = share(answerable)
    out["dev_answerable_declined_by_round"] = {r: share(answerable & (by_round == r)) for r in names}
    return out


def calibrated(folder: Path, dev_ex: list[Example], dev_q: list[dict]) -> dict:
    """The reader in ``folder`` calibrated on dev, in both precisions search may load it in."""
    readers = {"threshold": Reader.load(folder, precision="float32"),
               "threshold_int8": Reader.load(folder, precision="int8")}
    return calibrate(readers, dev_ex, [writer_round(q["writer"]) for q in dev_q])


def write_card(folder: Path, card: dict, calibration: dict) -> None:
    """``card`` with the thresholds of ``calibration`` (the rest of it under ``training``), to ``folder``."""
    card.update({k: calibration.pop(k) for k in ("threshold", "threshold_int8")})
    card.setdefault("training", {}).update(calibration)
    (folder / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(card, indent=2))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.reader", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--negatives", type=int, default=7, help="hardest negatives per question")
    p.add_argument("--shortlist", type=int, default=20, help="passages shortlisted per question")
    p.add_argument("--max-length", type=int, default=96)
    p.add_argument("--per-step", type=int, default=2, help="questions per optimiser step")
    p.add_argument("--limit", type=int, default=0, help="train on the first N questions only (smoke runs)")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--candidates-story", type=int, default=4)  # dev hit@1 0.607 at 4, 0.593 at 8
    p.add_argument("--candidates-archive", type=int, default=8)
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is faster on a busy machine)")
    p.add_argument("--index", type=Path, help="keep the training index here and reuse it (experiments)")
    p.add_argument("--teacher", type=Path, help="a larger trained reader to distil from (its folder)")
    p.add_argument("--teacher-weight", type=float, default=0.5,
                   help="share of the loss that follows the teacher rather than the gold labels")
    p.add_argument("--calibrate-only", action="store_true",
                   help="re-pick the thresholds of the reader in --out; train nothing")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    started = time.time()
    train_q = read_questions(list(TRAIN_DIR.glob("*.jsonl")))
    dev_q = read_questions(list(DEV_DIR.glob("*.jsonl")))
    embedder = Embedder.load(bf16=False)  # as the committed weights were trained: reproducible
    with tempfile.TemporaryDirectory(prefix="storydesk-train-") as tmp:
        state = build_index(train_q + dev_q, args.index or Path(tmp), embedder)
        train_ex = [] if args.calibrate_only else examples(train_q, state, embedder, args.shortlist,
                                                           add_missing_gold=True)
        dev_ex = examples(dev_q, state, embedder, 20, add_missing_gold=False)
    print(f"train: {len(train_q)} questions over {len({q['story'] for q in train_q})} stories; "
          f"dev: {len(dev_q)} over {len({q['story'] for q in dev_q})}; "
          f"dev shortlist recall@20 {shortlist_recall(dev_ex):.3f} ({time.time() - started:.0f} s)", flush=True)
    if args.calibrate_only:
        card = json.loads((args.out / CARD_FILE).read_text(encoding="utf-8"))
        write_card(args.out, card, calibrated(args.out, dev_ex, dev_q))
        return 0
    data = groups(train_ex[: args.limit] if args.limit else train_ex, args.negatives)
    print(f"training on {len(data)} questions, {sum(len(g[1]) for g in data)} passages", flush=True)
    soft = teacher_logits(args.teacher, data) if args.teacher else None
    model = train(data, args.layers, args.epochs, args.max_length, args.per_step, args.lr,
                  soft, args.teacher_weight if soft is not None else 0.0)
    trained = time.time() - started
    sha = save(model, args.out)
    card = {"sha256": sha, "layers": args.layers, "max_length": args.max_length, "threshold": 0.5,
            "threshold_int8": 0.5, "candidates_story": args.candidates_story,
            "candidates_archive": args.candidates_archive}
    # The card first, with placeholder thresholds: loading the reader to calibrate checks its sha256.
    (args.out / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    card["training"] = {
        "seed": SEED, "epochs": args.epochs, "negatives": args.negatives, "lr": args.lr,
        "per_step": args.per_step, "train_questions": len(data),
        **({"teacher_layers": ReaderCard.read(args.teacher).layers, "teacher_weight": args.teacher_weight}
           if args.teacher else {}),
        "dev_questions": len(dev_q), "seconds": round(trained),
    }
    write_card(args.out, card, calibrated(args.out, dev_ex, dev_q))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
