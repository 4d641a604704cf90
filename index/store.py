"""The index folder: SQLite metadata (the source of truth) plus a FAISS vector file.

Layout of an index folder::

    storydesk.sqlite        stories, paragraphs, retrieval units (with their vectors), quotes
    vectors-<gen>.faiss     the FAISS index for generation <gen>, written then renamed into place
    write.lock              held by a writer (filelock: portable, well-kept, handles stale locks)

Crash safety: every write is one SQLite transaction (WAL journal), so a writer killed at any
point leaves the previous generation intact. The FAISS file of a generation is written to a
temporary name and renamed; if it is missing (a crash between commit and rename), the next
:meth:`Store.open` (or write) restores it from the vectors kept in SQLite, and temporary files a
killed writer left are removed then too. Writers are serialised with the lock; readers never block
and pick up a new generation on their next query (:meth:`Store.generation`).

The store contract (:class:`IndexStore`) has two backends: this embedded folder, the default, and
PostgreSQL + pgvector (:mod:`index.store_postgres`) when a database URL is given to
:func:`open_store`. Search, ingest and the bot only use the contract.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import faiss
import numpy as np
from filelock import FileLock, Timeout

from index import vectors as vector_index
from index.embed import ModelInfo
from index.models import Paragraph, Quote, Story, StoryInfo

SCHEMA_VERSION = "1"
DB_NAME = "storydesk.sqlite"
LOCK_NAME = "write.lock"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stories (
    id TEXT PRIMARY KEY, headline TEXT NOT NULL, byline TEXT NOT NULL, standfirst TEXT NOT NULL,
    url TEXT NOT NULL, date TEXT NOT NULL, source TEXT NOT NULL, dropped TEXT NOT NULL,
    content_hash TEXT NOT NULL, seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS paragraphs (
    story TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    number INTEGER NOT NULL, text TEXT NOT NULL, PRIMARY KEY (story, number)
);
CREATE TABLE IF NOT EXISTS units (
    id INTEGER PRIMARY KEY, story TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    paragraph INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
    speaker TEXT NOT NULL, vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS units_story ON units(story);
CREATE TABLE IF NOT EXISTS quotes (
    id INTEGER PRIMARY KEY, story TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    speaker TEXT NOT NULL, aliases TEXT NOT NULL, role TEXT NOT NULL, text TEXT NOT NULL,
    paragraphs TEXT NOT NULL, kind TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quotes_story ON quotes(story);
"""


class IndexMismatch(RuntimeError):
    """The index was built with another model (or schema) than the one loaded now."""


class StoreUnavailable(RuntimeError):
    """The index's database cannot be reached right now (down, restarting, unreachable).

    Nothing was written by the call that raised it; callers report it and try again later.
    """


# Every story with its paragraph and quote counts, in ingest order (the same SQL on both backends).
LIST_STORIES_SQL = """
    SELECT s.id, s.headline, s.byline, s.url, s.date,
           (SELECT COUNT(*) FROM paragraphs p WHERE p.story = s.id),
           (SELECT COUNT(*) FROM quotes q WHERE q.story = s.id)
    FROM stories s ORDER BY s.seq, s.id"""
TABLES = ("stories", "paragraphs", "units", "quotes")  # what :meth:`IndexStore.counts` counts


@dataclass(frozen=True)
class Unit:
    """A retrieval unit: a sentence (or span) ``start:end`` of a paragraph, and who says it."""

    story: str
    paragraph: int
    start: int
    end: int
    speaker: str = ""

    def text(self, story: Story) -> str:
        """The unit's sentence, verbatim, from ``story`` (the story it belongs to)."""
        return story.paragraph(self.paragraph).text[self.start:self.end]


@dataclass(frozen=True)
class StoryRecord:
    """Everything the store keeps for one story: the story, its quotes, its units and vectors."""

    story: Story
    quotes: tuple[Quote, ...]
    units: tuple[Unit, ...]
    vectors: np.ndarray  # one L2-normalised row per unit


@dataclass(frozen=True)
class Snapshot:
    """One consistent generation of the index, loaded in memory for searching."""

    generation: int
    stories: dict[str, Story]
    quotes: dict[str, tuple[Quote, ...]]
    unit_ids: np.ndarray  # int64, aligned with ``units`` and ``vectors`` rows
    units: tuple[Unit, ...]
    vectors: np.ndarray
    faiss_index: faiss.Index | None
    # Archive-wide candidates from the database (PostgreSQL: HNSW + full text); None: use FAISS + BM25.
    archive: ArchiveCandidates | None = None


class ArchiveCandidates(Protocol):
    """Backend-side retrieval for archive-wide search; the ranking stays in :mod:`index.search`."""

    def nearest(self, q_vec: np.ndarray, n: int) -> np.ndarray:
        """Unit ids of the (approximately) ``n`` nearest vectors to ``q_vec``, nearest first."""
        ...

    def matching(self, words: Sequence[str], n: int) -> np.ndarray:
        """Unit ids of up to ``n`` units whose text matches any of ``words``, best first."""
        ...


@runtime_checkable
class IndexStore(Protocol):
    """The store contract both backends keep (tests/index/test_store.py runs it against each).

    - :meth:`write` replaces stories atomically: a reader sees the old generation or the new one;
    - :meth:`snapshot` is one consistent generation;
    - the model and its checksum are recorded by the first write, and another model is refused
      with :class:`IndexMismatch`;
    - an unreachable backend raises :class:`StoreUnavailable`, never a half-written index.
    """

    location: str  # a folder or a database URL without its password, for messages

    def generation(self) -> int: ...
    def model_info(self) -> ModelInfo | None: ...
    def check_model(self, info: ModelInfo) -> None: ...
    def story_hashes(self) -> dict[str, str]: ...
    def list_stories(self) -> list[StoryInfo]: ...
    def snapshot(self) -> Snapshot: ...
    def counts(self) -> dict[str, int]: ...
    def write_lock(self) -> AbstractContextManager[Any]: ...
    def write(self, records: list[StoryRecord], remove: Sequence[str] = (), *, model: ModelInfo) -> int: ...


def open_store(index_dir: Path, database_url: str = "", *, read_url: str = "", ef_search: int = 256,
               timeout_s: float = 5.0) -> IndexStore:
    """The configured backend: PostgreSQL when ``database_url`` is set, else the folder ``index_dir``."""
    if database_url:
        from index.store_postgres import PostgresStore  # psycopg loads only when a database is used

        return PostgresStore.open(database_url, read_url=read_url, ef_search=ef_search, timeout_s=timeout_s)
    return Store.open(index_dir)


def mismatch_message(where: str, recorded: ModelInfo, info: ModelInfo) -> str:
    """What :class:`IndexMismatch` says, the same for both backends."""
    return (f"The index at {where} was built with {recorded.name} "
            f"(sha256 {recorded.sha256[:12]}, {recorded.dimension}-d) but the loaded model is "
            f"{info.name} (sha256 {info.sha256[:12]}, {info.dimension}-d). Move its stories onto "
            "this model with: storydesk db copy --reembed --from OLD --to NEW")


def records_of(snap: Snapshot) -> list[StoryRecord]:
    """Every story of ``snap`` as records, vectors included: a copy between backends embeds nothing."""
    by_story: dict[str, list[int]] = {}
    for row, unit in enumerate(snap.units):
        by_story.setdefault(unit.story, []).append(row)
    return [StoryRecord(story, snap.quotes.get(sid, ()), tuple(snap.units[r] for r in by_story.get(sid, [])),
                        np.asarray(snap.vectors[by_story.get(sid, [])], dtype=np.float32))
            for sid, story in snap.stories.items()]


class Store:
    """An index folder. Open it with :meth:`open`; one instance may be shared by threads."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.location = str(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._db_path = self.root / DB_NAME
        self._lock = FileLock(str(self.root / LOCK_NAME), timeout=600)
        self._read_lock = threading.Lock()
        self._reader = self._connect()
        self._tidy()

    @classmethod
    def open(cls, root: Path) -> Store:
        """Open (creating if needed) the index folder at ``root``, tidying after a crashed writer."""
        return cls(root)

    def _tidy(self) -> None:
        """Remove temporary vector files a killed writer left, and restore a missing vectors file.

        Only when no writer holds the lock (a writer's own temporary file is in use); otherwise
        that writer leaves the folder tidy itself. Without the restore, every reader would rebuild
        the missing file in memory from SQLite on every start, forever.
        """
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return
        try:
            for leftover in self.root.glob("vectors-*.faiss.tmp"):
                leftover.unlink(missing_ok=True)
            generation = self.generation()
            if generation and not (self.root / f"vectors-{generation}.faiss").exists():
                conn = self._connect()
                try:
                    self._write_vectors(conn, generation)
                finally:
                    conn.close()
        finally:
            self._lock.release()

    def write_lock(self) -> FileLock:
        """The lock writers hold (re-entrant): hold it to read the index and write without a race."""
        return self._lock

    # --- connections ---------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._db_path, timeout=60, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=FULL")  # durability over speed: an ingest is rare
        conn.executescript(_SCHEMA)
        return conn

    def _meta(self, conn: sqlite3.Connection) -> dict[str, str]:
        return dict(conn.execute("SELECT key, value FROM meta").fetchall())

    def generation(self) -> int:
        """The committed generation; it changes whenever stories are added or removed."""
        with self._read_lock:
            row = self._reader.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def model_info(self) -> ModelInfo | None:
        """The model recorded by the first ingest, or None for an empty index."""
        with self._read_lock:
            meta = self._meta(self._reader)
        if "model" not in meta:
            return None
        return ModelInfo(meta["model"], meta["model_sha256"], int(meta["dimension"]))

    def check_model(self, info: ModelInfo) -> None:
        """Refuse to mix vectors of different models in one index."""
        recorded = self.model_info()
        if recorded is not None and recorded != info:
            raise IndexMismatch(mismatch_message(str(self.root), recorded, info))

    # --- reading --------------------------------------------------------------------------

    def story_hashes(self) -> dict[str, str]:
        """Story id -> content hash, to skip re-ingesting unchanged stories."""
        with self._read_lock:
            return dict(self._reader.execute("SELECT id, content_hash FROM stories").fetchall())

    def list_stories(self) -> list[StoryInfo]:
        """Every story with its paragraph and quote counts, in ingest order."""
        with self._read_lock:
            return [StoryInfo(*row) for row in self._reader.execute(LIST_STORIES_SQL).fetchall()]

    def counts(self) -> dict[str, int]:
        """Rows per table (stories, paragraphs, units, quotes): what a copy between backends verifies."""
        with self._read_lock:
            return {t: int(self._reader.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in TABLES}

    def snapshot(self) -> Snapshot:
        """Load the current generation into memory (one read transaction, so it is consistent)."""
        conn = self._connect()
        try:
            conn.execute("BEGIN")
            meta = self._meta(conn)
            generation = int(meta.get("generation", "0"))
            stories = self._load_stories(conn)
            quotes = self._load_quotes(conn)
            rows = conn.execute(
                "SELECT id, story, paragraph, start, end, speaker FROM units ORDER BY id"
            ).fetchall()
            index = self._load_index(generation, len(rows))
            unit_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            # The vectors live in the FAISS file; SQLite's copy is read only to rebuild it.
            vectors = vector_index.stored_vectors(index, unit_ids) if index is not None else None
            if vectors is None:
                dim = int(meta.get("dimension", "384"))
                blobs = conn.execute("SELECT vector FROM units ORDER BY id").fetchall()
                vectors = (np.frombuffer(b"".join(b for (b,) in blobs), dtype=np.float32).reshape(len(rows), dim)
                           if rows else np.zeros((0, dim), dtype=np.float32))
                del blobs
                if index is None:
                    index = vector_index.build(vectors, unit_ids)
            conn.execute("COMMIT")
        finally:
            conn.close()
        units = tuple(Unit(r[1], r[2], r[3], r[4], r[5]) for r in rows)
        assert index is not None  # loaded, or built from SQLite's vectors above
        return Snapshot(generation, stories, quotes, unit_ids, units, vectors, index)

    def _load_index(self, generation: int, count: int) -> faiss.Index | None:
        """This generation's FAISS file, or ``None`` when it is missing, corrupt or not this generation's."""
        faiss_path = self.root / f"vectors-{generation}.faiss"
        if not faiss_path.exists():
            return None
        try:
            index = vector_index.load(faiss_path)
        except RuntimeError:  # truncated or corrupt: SQLite holds the vectors, rebuild
            return None
        return index if index.ntotal == count else None

    def _load_stories(self, conn: sqlite3.Connection) -> dict[str, Story]:
        paragraphs: dict[str, list[Paragraph]] = {}
        for story, number, text in conn.execute(
            "SELECT story, number, text FROM paragraphs ORDER BY story, number"
        ):
            paragraphs.setdefault(story, []).append(Paragraph(story, number, text))
        stories = {}
        for row in conn.execute(
            "SELECT id, headline, byline, standfirst, url, date, source, dropped, content_hash "
            "FROM stories ORDER BY seq"
        ):
            sid = row[0]
            stories[sid] = Story(
                id=sid, headline=row[1], byline=row[2], standfirst=row[3], url=row[4], date=row[5],
                source=row[6], dropped=tuple(json.loads(row[7])), content_hash=row[8],
                paragraphs=tuple(paragraphs.get(sid, ())),
            )
        return stories

    def _load_quotes(self, conn: sqlite3.Connection) -> dict[str, tuple[Quote, ...]]:
        quotes: dict[str, list[Quote]] = {}
        for story, speaker, aliases, role, text, paras, kind in conn.execute(
            "SELECT story, speaker, aliases, role, text, paragraphs, kind FROM quotes ORDER BY id"
        ):
            quotes.setdefault(story, []).append(
                Quote(story, speaker, text, tuple(json.loads(paras)), kind,
                      tuple(json.loads(aliases)), role)
            )
        return {k: tuple(v) for k, v in quotes.items()}

    # --- writing --------------------------------------------------------------------------

    def write(self, records: list[StoryRecord], remove: Sequence[str] = (), *, model: ModelInfo) -> int:
        """Replace ``records``' stories and delete ``remove`` in one transaction; return the new generation.

        Holds the write lock for the whole write, so concurrent ingests queue up.
        """
        with self._lock:
            conn = self._connect()
            try:
                self.check_model(model)
                with conn:  # one transaction: all of it lands, or none of it
                    meta = self._meta(conn)
                    generation = int(meta.get("generation", "0")) + 1
                    seq = int(meta.get("seq", "0"))
                    for sid in list(remove) + [r.story.id for r in records]:
                        conn.execute("DELETE FROM stories WHERE id = ?", (sid,))
                    for record in records:
                        seq += 1
                        self._insert(conn, record, seq)
                    conn.executemany(
                        "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                        [("generation", str(generation)), ("seq", str(seq)),
                         ("schema", SCHEMA_VERSION), ("model", model.name),
                         ("model_sha256", model.sha256), ("dimension", str(model.dimension))],
                    )
                self._write_vectors(conn, generation)
            finally:
                conn.close()
            return generation

    def _insert(self, conn: sqlite3.Connection, record: StoryRecord, seq: int) -> None:
        s = record.story
        conn.execute(
            "INSERT INTO stories VALUES (?,?,?,?,?,?,?,?,?,?)",
            (s.id, s.headline, s.byline, s.standfirst, s.url, s.date, s.source,
             json.dumps(list(s.dropped)), s.content_hash, seq),
        )
        conn.executemany(
            "INSERT INTO paragraphs VALUES (?,?,?)", [(s.id, p.number, p.text) for p in s.paragraphs]
        )
        vecs = np.ascontiguousarray(record.vectors, dtype=np.float32)
        conn.executemany(
            "INSERT INTO units(story, paragraph, start, end, speaker, vector) VALUES (?,?,?,?,?,?)",
            [(s.id, u.paragraph, u.start, u.end, u.speaker, vecs[i].tobytes())
             for i, u in enumerate(record.units)],
        )
        conn.executemany(
            "INSERT INTO quotes(story, speaker, aliases, role, text, paragraphs, kind) "
            "VALUES (?,?,?,?,?,?,?)",
            [(s.id, q.speaker, json.dumps(list(q.aliases)), q.role, q.text,
              json.dumps(list(q.paragraphs)), q.kind) for q in record.quotes],
        )

    def _write_vectors(self, conn: sqlite3.Connection, generation: int) -> None:
        rows = conn.execute("SELECT id, vector FROM units ORDER BY id").fetchall()
        dim = int(self._meta(conn).get("dimension", "384"))
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        vecs = (np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), dim)
                if rows else np.zeros((0, dim), dtype=np.float32))
        vector_index.save(vector_index.build(vecs, ids), self.root / f"vectors-{generation}.faiss")
        # Keep the previous generation's file for readers that are loading it right now.
        for old in self.root.glob("vectors-*.faiss"):
            try:
                if int(old.stem.split("-")[1]) < generation - 1:
                    old.unlink(missing_ok=True)
            except ValueError:
                continue
