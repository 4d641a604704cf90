"""``python -m bench [--part ingest|query|slack|scale|cold|postgres] [--quick] [--pg-vectors N]``: run, print one
table, write JSON.

Without ``--part`` every part runs, in order (ingest first, so the others reuse its index). A part
run alone builds what it needs (untimed) when the cached archive index is missing or stale.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time

from bench.common import Results, Row, cores, log
from bench.report import RESULTS, table, write_json
from bot.allocator import tune_malloc

PARTS = {
    "ingest": "bench.ingest",
    "query": "bench.query",
    "slack": "bench.slack_load",
    "cold": "bench.cold",
    "scale": "bench.scale",  # the longest, and independent of the index
    "postgres": "bench.postgres",  # the PostgreSQL + pgvector store beside the embedded one (issue #15)
}

# Keys every full run fills; a part that fails leaves its keys null rather than missing.
REQUIRED = [
    "query_p50_ms_story", "query_p99_ms_story", "query_p50_ms_archive", "plain_query_p50_ms_story",
    "ingest_paragraphs_per_s", "plain_encode_paragraphs_per_s", "slack_ack_p99_ms",
    "slack_answer_p50_ms", "slack_errors", "slack_duplicates", "cold_start_s", "rss_mb_serving",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="small runs: under 2 minutes in all")
    parser.add_argument("--pg-vectors", type=int, default=0,
                        help="part postgres: synthetic vectors for the HNSW figures (default 1M; 100k with --quick)")
    args = parser.parse_args(argv)
    # The allocator settings of `storydesk serve`: they move question latency by 2x (bot/allocator.py),
    # so the in-process parts measure what a served process does.
    tune_malloc()

    parts = list(PARTS) if args.part == "all" else [args.part]
    results: Results = {"quick": args.quick, "cores": cores(), "machine": platform.machine(),
                        "python": platform.python_version(), "parts": parts,
                        "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if args.part == "all":
        results.update({key: None for key in REQUIRED})
    elif RESULTS.exists():  # one part: keep the other parts' latest figures beside it
        results = {**json.loads(RESULTS.read_text()), **results}
    if args.pg_vectors:
        results["pg_vectors"] = args.pg_vectors
    rows: list[Row] = []
    failed: list[str] = []
    t0 = time.perf_counter()
    for name in parts:
        t = time.perf_counter()
        try:
            rows += importlib.import_module(PARTS[name]).run(args.quick, results)
        except Exception as exc:  # one broken part must not hide the others' figures
            import traceback

            traceback.print_exc()
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
        results[f"{name}_part_s"] = round(time.perf_counter() - t, 1)
        log(f"{name} done in {time.perf_counter() - t:.0f} s")
    results["total_s"] = round(time.perf_counter() - t0, 1)
    results["failed"] = failed

    mode = "quick" if args.quick else "full"
    print(f"storydesk bench ({mode}, {results['cores']} cores, {results['total_s']:.0f} s); "
          "ratio = storydesk / plain pipeline")
    print(table(rows))
    write_json(results)
    print(f"\nwrote {RESULTS}")
    for line in failed:
        print(f"FAILED {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
