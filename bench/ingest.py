"""Part ``ingest``: storydesk's whole ingest of the archive vs the plain pipeline's encode alone.

Both run in fresh processes (clean peak RSS; model loading timed apart and left out of both).
storydesk's run is timed per stage by wrapping its functions for the duration of the run:
parsing/cleaning (``load_story``), quote attribution, sentence splitting (pysbd), the rest of unit
cutting (speaker lookup), encoding, SQLite writes and the FAISS rebuild.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import (
    Results,
    Row,
    cache_dir,
    dir_size_mb,
    fresh_index_dir,
    in_child,
    log,
    mark_index_current,
    peak_rss_mb,
    story_paths,
)

STAGES = ("parse", "quotes", "sentences", "units_other", "encode", "sqlite", "faiss_rebuild")


def _wrap(owner: Any, name: str, acc: dict[str, float]) -> None:
    """Replace ``owner.name`` with a version that adds its run time to ``acc[name]``."""
    original: Callable[..., Any] | None = getattr(owner, name, None)
    if original is None:  # the code under test changed shape: time what is there
        return

    def timed(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            acc[name] += time.perf_counter() - t

    setattr(owner, name, timed)


def ingest_child(paths: list[str], index_dir: str) -> dict[str, float]:
    """In a fresh process: load the model, then parse and ingest ``paths`` into ``index_dir``."""
    from index import indexer
    from index.embed import Embedder
    from index.ingest import load_story
    from index.store import Store

    t0 = time.perf_counter()
    embedder = Embedder.load()
    t1 = time.perf_counter()
    acc: dict[str, float] = defaultdict(float)
    for owner, name in [(indexer, "extract_quotes_many"), (indexer, "units_for"), (indexer, "sentences"),
                        (Embedder, "encode"), (Store, "write"), (Store, "_write_vectors")]:
        _wrap(owner, name, acc)
    store = Store.open(Path(index_dir))
    t2 = time.perf_counter()
    stories = [load_story(Path(p)) for p in paths]
    t3 = time.perf_counter()
    indexer.ingest(store, embedder, stories)
    t4 = time.perf_counter()
    units = store._reader.execute("SELECT COUNT(*) FROM units").fetchone()[0]
    return {
        "stories": len(stories),
        "paragraphs": sum(len(s.paragraphs) for s in stories),
        "units": units,
        "model_load_s": t1 - t0,
        "wall_s": t4 - t2,
        "parse_s": t3 - t2,
        "quotes_s": acc["extract_quotes_many"],
        "sentences_s": acc["sentences"],
        "units_other_s": acc["units_for"] - acc["sentences"],
        "encode_s": acc["encode"],
        "sqlite_s": acc["write"] - acc["_write_vectors"],
        "faiss_rebuild_s": acc["_write_vectors"],
        "peak_rss_mb": peak_rss_mb(),
    }


def run(quick: bool, results: Results) -> list[Row]:
    """Ingest the archive into a fresh index (kept for the other parts) and encode it plainly."""
    from bench.plain import encode_child

    paths = [str(p) for p in story_paths(quick)]
    log(f"ingest: storydesk ingest of {len(paths)} stories")
    target = fresh_index_dir(quick)
    ours = in_child(ingest_child, paths, str(target))
    mark_index_current(quick)
    ours["index_mb"] = dir_size_mb(target)
    log(f"ingest: plain encode of the same {len(paths)} files")
    plain = in_child(encode_child, paths, str(cache_dir(quick) / "plain_vectors.npy"))

    wall, enc = ours["wall_s"], plain["encode_s"]
    results.update({
        "ingest_stories": ours["stories"],
        "ingest_paragraphs": ours["paragraphs"],
        "ingest_units": ours["units"],
        "ingest_wall_s": round(wall, 2),
        "ingest_stories_per_s": round(ours["stories"] / wall, 2),
        "ingest_paragraphs_per_s": round(ours["paragraphs"] / wall, 1),
        "ingest_peak_rss_mb": round(ours["peak_rss_mb"], 1),
        "ingest_index_mb": round(ours["index_mb"], 2),
        "model_load_s": round(ours["model_load_s"], 2),
        **{f"ingest_{stage}_s": round(ours[f"{stage}_s"], 2) for stage in STAGES},
        "plain_paragraphs": plain["paragraphs"],
        "plain_encode_s": round(enc, 2),
        "plain_encode_stories_per_s": round(len(paths) / enc, 2),
        "plain_encode_paragraphs_per_s": round(plain["paragraphs"] / enc, 1),
        "plain_encode_peak_rss_mb": round(plain["peak_rss_mb"], 1),
        "plain_index_mb": round(plain["index_mb"], 2),
    })
    rows = [
        Row("ingest", f"wall time, {ours['stories']} stories (plain: encode only)", wall, "s", enc,
            "<= plain"),
        Row("ingest", "stories/s", ours["stories"] / wall, "/s", len(paths) / enc),
        Row("ingest", f"paragraphs/s ({ours['paragraphs']} vs {plain['paragraphs']} paragraphs)",
            ours["paragraphs"] / wall, "/s", plain["paragraphs"] / enc),
        Row("ingest", f"texts embedded ({ours['units']} units vs paragraphs)", ours["units"], "",
            plain["paragraphs"]),
        Row("ingest", "peak RSS", ours["peak_rss_mb"], "MB", plain["peak_rss_mb"]),
        Row("ingest", "index size on disk", ours["index_mb"], "MB", plain["index_mb"]),
    ]
    rows += [Row("ingest", f"  stage: {stage}", ours[f"{stage}_s"], "s",
                 enc if stage == "encode" else None) for stage in STAGES]
    return rows
