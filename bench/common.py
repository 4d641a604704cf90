"""Shared pieces of the benchmark: paths, the story selection, questions, timing and memory helpers.

Every part returns :class:`Row` objects (one line of the printed table each) and fills a flat dict
of figures for ``bench/results.json``. Heavy phases that need a clean peak-RSS figure run in a
fresh interpreter (:func:`in_child`), so one part's memory never shows up in another's.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import resource
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "bbc-2005"
EVAL_DIR = ROOT.parent / "shared" / "eval" / "dev"
BUNDLED_STORY = ROOT / "stories" / "met-police-safer-schools-officers.txt"
CACHE = Path(tempfile.gettempdir()) / "storydesk-bench"
QUICK_STORIES = 200  # archive stories in --quick mode (the full run takes all 2,095)

Results = dict[str, Any]


@dataclass(frozen=True)
class Row:
    """One line of the table: storydesk's figure beside the plain pipeline's (when there is one)."""

    part: str
    metric: str
    value: float
    unit: str = ""
    plain: float | None = None
    goal: str = ""


# --- statistics and resources ------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``samples``; NaN when there are none."""
    return float(np.percentile(samples, q)) if samples else float("nan")


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb(pid: int | None = None) -> float:
    """Current resident set size of ``pid`` (default: this process), in MB."""
    import psutil

    return psutil.Process(pid or os.getpid()).memory_info().rss / 2**20


def peak_rss_of(pid: int) -> float:
    """Peak RSS (VmHWM) of a running process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def dir_size_mb(path: Path) -> float:
    """Bytes under ``path`` in MB."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 1e6


def cores() -> int:
    """CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _child_main(conn: Any, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        conn.send((True, func(*args)))
    except BaseException as exc:  # report, don't hang the parent
        import traceback

        conn.send((False, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
    finally:
        conn.close()


def in_child(func: Callable[..., Any], *args: Any) -> Any:
    """Run ``func(*args)`` in a fresh (spawned) interpreter and return its result."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, args=(child, func, args))
    proc.start()
    child.close()
    try:
        ok, value = parent.recv()
    except EOFError:
        proc.join()
        ok, value = False, f"child exited with code {proc.exitcode}"
    proc.join()
    if not ok:
        raise RuntimeError(f"benchmark child failed: {value}")
    return value


def log(message: str) -> None:
    """Progress on stderr, so the table on stdout stays clean."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the archive and the questions ---------------------------------------------------------------


def dev_questions() -> list[dict[str, Any]]:
    """Dev-set questions (``story``, ``question``) from ``../shared/eval/dev``."""
    out: list[dict[str, Any]] = []
    for name in ("questions.jsonl", "seed_questions.jsonl"):
        path = EVAL_DIR / name
        if path.exists():
            out.extend(json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return out


# Our own questions, asked of many stories: the generic shapes reporters type.
OWN_QUESTIONS = [
    "Who said this was a mistake?",
    "How much money is involved?",
    "When will the change happen?",
    "What did the minister say?",
    "Who criticised the decision?",
    "What happens next?",
    "How many people were affected?",
    "Why did the company make the move?",
    "What did the spokesman say about the plans?",
    "Where did it happen?",
    "Who won the match?",
    "What were the profits last year?",
    "What did critics warn about?",
    "Which country is involved?",
    "What did the report find?",
]


def story_paths(quick: bool) -> list[Path]:
    """The archive to ingest: every story (or a fixed sample of ``QUICK_STORIES``) plus the bundled one.

    The sample always includes the stories the dev questions ask about.
    """
    every = sorted(CORPUS.rglob("*.txt"))
    if quick:
        wanted = {q["story"] for q in dev_questions()}
        chosen = [p for p in every if p.stem in wanted]
        rest = [p for p in every if p.stem not in wanted]
        step = max(1, len(rest) // max(1, QUICK_STORIES - len(chosen)))
        chosen += rest[::step][: QUICK_STORIES - len(chosen)]
        every = sorted(chosen)
    return [*every, BUNDLED_STORY]


def question_set(story_ids: list[str], n: int) -> list[tuple[str, str]]:
    """``n`` (story, question) pairs: dev questions whose story is indexed, then our own, cycled."""
    known = set(story_ids)
    pairs = [(q["story"], q["question"]) for q in dev_questions() if q["story"] in known]
    step = max(1, len(story_ids) // 40)
    for i, sid in enumerate(story_ids[::step]):
        pairs.append((sid, OWN_QUESTIONS[i % len(OWN_QUESTIONS)]))
    return [pairs[i % len(pairs)] for i in range(n)]


# --- the prepared index (shared by the query, slack and cold parts) --------------------------------


def _fingerprint(paths: list[Path]) -> str:
    """Changes when the story set, storydesk's index code or its trained weights change: then the
    index is rebuilt."""
    h = hashlib.sha256()
    for p in paths:
        h.update(str(p).encode())
    for src in sorted((ROOT / "index").rglob("*.py")) + sorted((ROOT / "index" / "weights").rglob("*.json")):
        h.update(src.read_bytes())  # the code and the trained weights' cards (their sha256)
    return h.hexdigest()[:16]


def cache_dir(quick: bool) -> Path:
    return CACHE / ("quick" if quick else "full")


def index_dir(quick: bool) -> Path:
    """Where the benchmark archive's index lives (outside the repository)."""
    return cache_dir(quick) / "index"


def index_is_current(quick: bool) -> bool:
    marker = cache_dir(quick) / "fingerprint"
    return marker.exists() and marker.read_text() == _fingerprint(story_paths(quick))


def mark_index_current(quick: bool) -> None:
    (cache_dir(quick) / "fingerprint").write_text(_fingerprint(story_paths(quick)))


def fresh_index_dir(quick: bool) -> Path:
    """An empty index folder at :func:`index_dir` (any previous one removed)."""
    path = index_dir(quick)
    shutil.rmtree(path, ignore_errors=True)
    (cache_dir(quick) / "fingerprint").unlink(missing_ok=True)
    path.mkdir(parents=True)
    return path


def ensure_index(quick: bool) -> Path:
    """The benchmark archive's index, built first (untimed) if it is missing or stale."""
    if not index_is_current(quick):
        from bench.ingest import ingest_child

        log(f"building the {'quick' if quick else 'full'} archive index (not timed)")
        in_child(ingest_child, [str(p) for p in story_paths(quick)], str(fresh_index_dir(quick)))
        mark_index_current(quick)
    return index_dir(quick)


def story_ids(quick: bool) -> list[str]:
    return [p.stem for p in story_paths(quick)]
