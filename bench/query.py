"""Part ``query``: warm, in-process question latency, story-scoped and archive-wide, vs the plain pipeline.

storydesk: :meth:`index.search.Searcher.search` (encode, dense + BM25 shortlist, the trained
reader over the best passages, answerability); the goals are the reader's budget from issue #12.
Plain: encode the question, ``IndexFlatIP`` top-3 over the same paragraphs (the story's own
paragraphs for scoped questions; every paragraph for archive-wide ones).
"""

from __future__ import annotations

import time

import numpy as np

from bench.common import Results, Row, cache_dir, ensure_index, log, percentile, question_set, story_ids, story_paths
from bot.allocator import release_free_memory


def _timed(fn, items) -> list[float]:
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t) * 1000)
    return out


def run(quick: bool, results: Results) -> list[Row]:
    from bench.plain import PlainIndex, load_model, split_paragraphs
    from index.embed import Embedder
    from index.search import Searcher
    from index.store import Store

    n = 200 if quick else 600
    index = ensure_index(quick)
    searcher = Searcher(Store.open(index), Embedder.load())
    searcher.state()
    pairs = question_set(story_ids(quick), n)
    log(f"query: {len(pairs)} questions, scoped and archive-wide")
    for sid, q in pairs[:10]:  # warm caches and the allocator, untimed
        searcher.search(q, story=sid)
        searcher.search(q)
    scoped = _timed(lambda p: searcher.search(p[1], story=p[0]), pairs)
    archive = _timed(lambda p: searcher.search(p[1]), pairs)
    # A question that comes after a quiet spell: `serve` gave the free memory back when its answer
    # worker fell idle (bot/allocator.py), so the buffers are faulted in again. Untimed: the release.
    after_idle: dict[str, list[float]] = {"story": [], "archive": []}
    for sid, q in pairs[::3]:
        for scope, story in (("story", sid), ("archive", None)):
            release_free_memory()
            t = time.perf_counter()
            searcher.search(q, story=story)
            after_idle[scope].append((time.perf_counter() - t) * 1000)

    # The plain pipeline over the same files.
    model = load_model()
    paths = {p.stem: p for p in story_paths(quick)}
    per_story = {sid: split_paragraphs(paths[sid]) for sid in {s for s, _ in pairs}}
    story_index = {sid: PlainIndex(model, model.encode(paras)) for sid, paras in per_story.items()}
    vectors_file = cache_dir(quick) / "plain_vectors.npy"
    if vectors_file.exists():
        everything = np.load(vectors_file)
    else:  # the ingest part did not run in this session: encode the archive (untimed)
        everything = model.encode([p for path in paths.values() for p in split_paragraphs(path)])
    archive_index = PlainIndex(model, everything)
    for sid, q in pairs[:10]:
        story_index[sid].search(q)
    plain_scoped = _timed(lambda p: story_index[p[0]].search(p[1]), pairs)
    plain_archive = _timed(lambda p: archive_index.search(p[1]), pairs)

    results.update({
        "query_questions": len(pairs),
        "query_p50_ms_story": round(percentile(scoped, 50), 2),
        "query_p95_ms_story": round(percentile(scoped, 95), 2),
        "query_p99_ms_story": round(percentile(scoped, 99), 2),
        "query_p50_ms_archive": round(percentile(archive, 50), 2),
        "query_p95_ms_archive": round(percentile(archive, 95), 2),
        "query_p99_ms_archive": round(percentile(archive, 99), 2),
        "query_p50_ms_story_after_idle": round(percentile(after_idle["story"], 50), 2),
        "query_p50_ms_archive_after_idle": round(percentile(after_idle["archive"], 50), 2),
        "plain_query_p50_ms_story": round(percentile(plain_scoped, 50), 2),
        "plain_query_p99_ms_story": round(percentile(plain_scoped, 99), 2),
        "plain_query_p50_ms_archive": round(percentile(plain_archive, 50), 2),
        "query_archive_paragraphs": int(everything.shape[0]),
    })
    rows = []
    for name, ours, plain, goal in [("story-scoped", scoped, plain_scoped, "p50 <= 30 ms"),
                                    ("archive-wide", archive, plain_archive, "p50 <= 60 ms")]:
        for pct in (50, 95, 99):
            rows.append(Row("query", f"{name} p{pct} ({len(pairs)} questions)", percentile(ours, pct), "ms",
                            percentile(plain, pct), goal if pct == 50 else ""))
    for name, scope, goal in [("story-scoped", "story", "p50 <= 30 ms"), ("archive-wide", "archive", "p50 <= 60 ms")]:
        rows.append(Row("query", f"{name} p50 after the server fell idle ({len(after_idle[scope])} questions)",
                        percentile(after_idle[scope], 50), "ms", goal=goal))
    return rows
