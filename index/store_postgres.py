"""The index on PostgreSQL + pgvector: the :class:`~index.store.IndexStore` contract on a database.

Chosen when ``STORYDESK_DATABASE_URL`` (or ``--database``) is set; the embedded folder stays the
default. Same contract as :class:`index.store.Store`:

- a write is one transaction (delete the stories' rows, insert the new ones, bump the generation in
  ``meta``), so readers see the old generation or the new one, never half;
- :meth:`snapshot` reads in one REPEATABLE READ, READ ONLY transaction, so it is one generation;
- the model and its checksum are recorded in ``meta`` and another model is refused;
- writers queue on a session advisory lock (the folder's file lock, for every host at once).

Search keeps its in-process ranking (:mod:`index.search`): the snapshot loads units and vectors into
memory as the embedded store's does, and only archive-wide nearest-vector search runs in the database
(:class:`PgArchiveCandidates`: HNSW with ``hnsw.ef_search`` from settings; its full-text ``matching``
on ``units.tsv`` is kept for hosts without in-process BM25, see docs/scale.md). Story-scoped search
stays exact: every unit of the story is scored in process.

Reads (snapshot, generation, lists) go to ``read_url`` when one is given (a streaming replica);
writes, locks and migrations only ever go to the primary.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import psycopg

from index import postgres
from index.embed import ModelInfo
from index.models import Paragraph, Quote, Story, StoryInfo
from index.store import (
    LIST_STORIES_SQL,
    TABLES,
    IndexMismatch,
    Snapshot,
    StoryRecord,
    Unit,
    mismatch_message,
)

_WRITE_LOCK = 0x5D_01  # pg_advisory_lock key held by the one writer at a time


class AdvisoryWriteLock:
    """A re-entrant lock across threads, processes and hosts: a session advisory lock on the primary.

    Held on a connection of its own for as long as the outermost ``with`` lasts (the indexer holds it
    around a whole batch, and :meth:`PostgresStore.write` takes it again inside).
    """

    def __init__(self, url: str, timeout_s: float):
        self._url = url
        self._timeout_s = timeout_s
        self._local = threading.RLock()
        self._depth = 0
        self._conn: psycopg.Connection | None = None

    def __enter__(self) -> AdvisoryWriteLock:
        self._local.acquire()
        try:
            if self._depth == 0:
                with postgres.unavailable_as_error(self._url):
                    conn = psycopg.connect(self._url, autocommit=True, connect_timeout=max(1, int(self._timeout_s)))
                    try:
                        conn.execute("SELECT pg_advisory_lock(%s)", (_WRITE_LOCK,))
                    except BaseException:
                        conn.close()
                        raise
                self._conn = conn
            self._depth += 1
        except BaseException:
            self._local.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._depth -= 1
            if self._depth == 0 and self._conn is not None:
                conn, self._conn = self._conn, None
                conn.close()  # closing the session releases its advisory lock, even if unlock would fail
        finally:
            self._local.release()


class PgArchiveCandidates:
    """Archive-wide candidates from the database: HNSW nearest vectors, and full-text matches."""

    def __init__(self, store: PostgresStore):
        self._store = store

    def nearest(self, q_vec: np.ndarray, n: int) -> np.ndarray:
        with self._store._read() as conn, conn.transaction():
            # hnsw.ef_search bounds how many rows an HNSW scan returns: at least n, or the list is short.
            conn.execute(f"SET LOCAL hnsw.ef_search = {max(int(self._store.ef_search), int(n))}")
            rows = conn.execute("SELECT id FROM units ORDER BY embedding <#> %b LIMIT %s",
                                (np.asarray(q_vec, dtype=np.float32), n)).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def matching(self, words: Sequence[str], n: int) -> np.ndarray:
        # Words are \w+ runs (no tsquery syntax characters), OR-ed: any of them may match.
        query = " | ".join(dict.fromkeys(w for w in words if w.replace("_", "").isalnum()))
        if not query:
            return np.zeros(0, dtype=np.int64)
        with self._store._read() as conn:
            rows = conn.execute(
                "SELECT id FROM units, to_tsquery('english', %s) q WHERE tsv @@ q "
                "ORDER BY ts_rank(tsv, q) DESC, id LIMIT %s", (query, n)).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)


class PostgresStore:
    """The index in a PostgreSQL database. Open it with :meth:`open`; one instance may be shared by threads."""

    def __init__(self, url: str, *, read_url: str = "", ef_search: int = 256, timeout_s: float = 5.0):
        self.url = url
        self.read_url = read_url or url
        self.ef_search = ef_search
        self.timeout_s = timeout_s
        self.location = postgres.safe_url(url)
        self._lock = AdvisoryWriteLock(url, timeout_s)

    @classmethod
    def open(cls, url: str, *, read_url: str = "", ef_search: int = 256, timeout_s: float = 5.0) -> PostgresStore:
        """Open the index in ``url``'s database, applying any migration it lacks (on the primary)."""
        postgres.upgrade(url, timeout_s)
        return cls(url, read_url=read_url, ef_search=ef_search, timeout_s=timeout_s)

    def write_lock(self) -> AdvisoryWriteLock:
        """The lock writers hold (re-entrant), for every process on every host."""
        return self._lock

    @contextmanager
    def _read(self) -> Iterator[psycopg.Connection]:
        with postgres.connection(self.read_url, timeout_s=self.timeout_s, vectors=True) as conn:
            yield conn

    @contextmanager
    def _primary(self) -> Iterator[psycopg.Connection]:
        with postgres.connection(self.url, timeout_s=self.timeout_s, vectors=True) as conn:
            yield conn

    # --- reading --------------------------------------------------------------------------

    @staticmethod
    def _meta(conn: psycopg.Connection) -> dict[str, str]:
        return {k: v for k, v in conn.execute("SELECT key, value FROM meta").fetchall()}

    def generation(self) -> int:
        """The committed generation; it changes whenever stories are added or removed."""
        with self._read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def model_info(self) -> ModelInfo | None:
        with self._read() as conn:
            return _model_of(self._meta(conn))

    def check_model(self, info: ModelInfo) -> None:
        """Refuse to mix vectors of different models in one index."""
        self._refuse_other(self.model_info(), info)

    def _refuse_other(self, recorded: ModelInfo | None, info: ModelInfo) -> None:
        if recorded is not None and recorded != info:
            raise IndexMismatch(mismatch_message(self.location, recorded, info))

    def story_hashes(self) -> dict[str, str]:
        with self._read() as conn:
            return {k: v for k, v in conn.execute("SELECT id, content_hash FROM stories").fetchall()}

    def list_stories(self) -> list[StoryInfo]:
        with self._read() as conn:
            return [StoryInfo(*row) for row in conn.execute(LIST_STORIES_SQL).fetchall()]

    def counts(self) -> dict[str, int]:
        with self._read() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return {t: int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in TABLES}  # type: ignore[index]

    def snapshot(self) -> Snapshot:
        """Load the current generation into memory, in one REPEATABLE READ transaction."""
        with self._read() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            meta = self._meta(conn)
            generation = int(meta.get("generation", "0"))
            dim = int(meta.get("dimension", "384"))
            stories = _load_stories(conn)
            quotes = _load_quotes(conn)
            ids: list[int] = []
            units: list[Unit] = []
            with conn.cursor(binary=True) as cur:
                rows = cur.execute(
                    'SELECT id, story, paragraph, start, "end", speaker, embedding FROM units ORDER BY id').fetchall()
            vectors = np.zeros((len(rows), dim), dtype=np.float32)
            for i, (uid, story, paragraph, start, end, speaker, vec) in enumerate(rows):
                ids.append(uid)
                units.append(Unit(story, paragraph, start, end, speaker))
                vectors[i] = vec.to_numpy()
            del rows
        return Snapshot(generation, stories, quotes, np.array(ids, dtype=np.int64), tuple(units), vectors,
                        None, PgArchiveCandidates(self))

    # --- writing --------------------------------------------------------------------------

    def write(self, records: list[StoryRecord], remove: Sequence[str] = (), *, model: ModelInfo) -> int:
        """Replace ``records``' stories and delete ``remove`` in one transaction; return the new generation."""
        with self._lock, self._primary() as conn, conn.transaction():
            meta = self._meta(conn)  # from the primary: a replica may lag behind the last write
            self._refuse_other(_model_of(meta), model)
            generation = int(meta.get("generation", "0")) + 1
            seq = int(meta.get("seq", "0"))
            gone = list(remove) + [r.story.id for r in records]
            if gone:
                conn.execute("DELETE FROM stories WHERE id = ANY(%s)", (gone,))
            for record in records:
                seq += 1
                self._insert(conn, record, seq)
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO meta (key, value) VALUES (%s, %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    [("generation", str(generation)), ("seq", str(seq)), ("model", model.name),
                     ("model_sha256", model.sha256), ("dimension", str(model.dimension))])
        return generation

    def _insert(self, conn: psycopg.Connection, record: StoryRecord, seq: int) -> None:
        s = record.story
        conn.execute("INSERT INTO stories VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                      (s.id, s.headline, s.byline, s.standfirst, s.url, s.date, s.source,
                       json.dumps(list(s.dropped)), s.content_hash, seq))
        vecs = np.ascontiguousarray(record.vectors, dtype=np.float32)
        texts = {p.number: p.text for p in s.paragraphs}
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO paragraphs VALUES (%s,%s,%s)",
                            [(s.id, p.number, p.text) for p in s.paragraphs])
            cur.executemany(
                'INSERT INTO units (story, paragraph, start, "end", speaker, embedding, tsv) '
                "VALUES (%s,%s,%s,%s,%s,%b, to_tsvector('english', %s))",
                [(s.id, u.paragraph, u.start, u.end, u.speaker, vecs[i], texts[u.paragraph][u.start:u.end])
                 for i, u in enumerate(record.units)])
            cur.executemany(
                "INSERT INTO quotes (story, speaker, aliases, role, text, paragraphs, kind) "
                "VALUES (%s,%s,%s,%s,%s,%s,%s)",
                [(s.id, q.speaker, json.dumps(list(q.aliases)), q.role, q.text, json.dumps(list(q.paragraphs)), q.kind)
                 for q in record.quotes])


def _model_of(meta: dict[str, str]) -> ModelInfo | None:
    if "model" not in meta:
        return None
    return ModelInfo(meta["model"], meta["model_sha256"], int(meta["dimension"]))


def _load_stories(conn: psycopg.Connection) -> dict[str, Story]:
    paragraphs: dict[str, list[Paragraph]] = {}
    for story, number, text in conn.execute("SELECT story, number, text FROM paragraphs ORDER BY story, number"):
        paragraphs.setdefault(story, []).append(Paragraph(story, number, text))
    stories = {}
    for row in conn.execute("SELECT id, headline, byline, standfirst, url, date, source, dropped, content_hash "
                            "FROM stories ORDER BY seq"):
        sid = row[0]
        stories[sid] = Story(id=sid, headline=row[1], byline=row[2], standfirst=row[3], url=row[4], date=row[5],
                             source=row[6], dropped=tuple(row[7]), content_hash=row[8],
                             paragraphs=tuple(paragraphs.get(sid, ())))
    return stories


def _load_quotes(conn: psycopg.Connection) -> dict[str, tuple[Quote, ...]]:
    quotes: dict[str, list[Quote]] = {}
    for story, speaker, aliases, role, text, paras, kind in conn.execute(
            "SELECT story, speaker, aliases, role, text, paragraphs, kind FROM quotes ORDER BY id"):
        quotes.setdefault(story, []).append(Quote(story, speaker, text, tuple(paras), kind, tuple(aliases), role))
    return {k: tuple(v) for k, v in quotes.items()}


