"""Answer each chat event once: a set of claimed keys shared by every process on one index folder.

Slack redelivers an event it thinks went unanswered (``X-Slack-Retry-Num``), and an @-mention also
arrives as a ``message`` event. A set held in memory forgets both across a restart or between
worker processes, and the user gets the answer twice. The keys live in SQLite beside the index
(``seen.sqlite``): ``INSERT OR IGNORE`` on a primary key is atomic across processes, so exactly
one claimant wins. Keys expire after an hour, well past Slack's last retry (about 5 minutes).

Standard library ``sqlite3`` (WAL, ``synchronous=NORMAL``): a claim costs well under a millisecond
and needs no server; the index folder already holds SQLite.

>>> seen = SeenKeys(index_dir / "seen.sqlite")
>>> seen.claim("event:Ev123"), seen.claim("event:Ev123")
(True, False)

With ``STORYDESK_DATABASE_URL`` set, several hosts share the keys instead: :class:`PgSeenKeys` keeps
them in the ``seen_events`` table of that database, and ``INSERT ... ON CONFLICT DO NOTHING`` gives
exactly one winner per key across every process on every host (psycopg 3, like the index).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Protocol

from index.postgres_tables import SharedTables

FILENAME = "seen.sqlite"
TTL_SECONDS = 3600.0
_PRUNE_EVERY = 500  # claims between deletions of expired keys


def connect(path: Path | None) -> sqlite3.Connection:
    """A connection for small shared files beside the index (``path``; None: in memory): WAL,
    autocommit, usable from any thread (callers serialise with their own lock)."""
    target = ":memory:"
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        target = str(path)
    db = sqlite3.connect(target, timeout=10, check_same_thread=False, isolation_level=None)
    if path is not None:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    return db


class EventClaims(Protocol):
    """What the chat surfaces need: claim a key once, then close."""

    def claim(self, key: str) -> bool: ...
    def close(self) -> None: ...


class SeenKeys:
    """``claim(key)`` is True for the first claimant of ``key`` (in any process) within the TTL.

    With ``path=None`` the set lives in memory only (one process; tests and the CLI).
    """

    def __init__(self, path: Path | None = None, ttl: float = TTL_SECONDS) -> None:
        self.path = Path(path) if path is not None else None
        self._ttl = ttl
        self._lock = threading.Lock()
        self._claims = 0
        self._db = connect(self.path)
        self._db.execute("CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, at REAL NOT NULL)")

    @classmethod
    def in_folder(cls, folder: Path) -> SeenKeys:
        """The keys kept beside the index in ``folder``."""
        return cls(Path(folder) / FILENAME)

    def claim(self, key: str) -> bool:
        """Record ``key``; True if nobody had claimed it within the TTL."""
        now = time.time()
        with self._lock:
            self._claims += 1
            if self._claims % _PRUNE_EVERY == 1:
                self._db.execute("DELETE FROM seen WHERE at < ?", (now - self._ttl,))
            # An expired key may be claimed again: drop it first, then race on the insert.
            self._db.execute("DELETE FROM seen WHERE key = ? AND at < ?", (key, now - self._ttl))
            return self._db.execute("INSERT OR IGNORE INTO seen (key, at) VALUES (?, ?)",
                                    (key, now)).rowcount == 1

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PgSeenKeys(SharedTables):
    """:class:`SeenKeys` in the shared database: one winner per key across hosts.

    Raises :class:`index.store.StoreUnavailable` when the database cannot be reached; the caller
    decides (the HTTP handler answers 503 so Slack retries, and a slash command hears why).
    """

    def __init__(self, url: str, ttl: float = TTL_SECONDS, timeout_s: float = 2.0) -> None:
        self._ttl = ttl
        self._claims = 0
        self._open_tables(url, timeout_s)

    def claim(self, key: str) -> bool:
        """Record ``key``; True if nobody, on any host, had claimed it within the TTL."""
        now = time.time()
        self._claims += 1
        with self._transaction() as conn:
            if self._claims % _PRUNE_EVERY == 1:
                conn.execute("DELETE FROM seen_events WHERE at < %s", (now - self._ttl,))
            # An expired key may be claimed again: drop it first, then race on the insert.
            conn.execute("DELETE FROM seen_events WHERE key = %s AND at < %s", (key, now - self._ttl))
            won = conn.execute("INSERT INTO seen_events (key, at) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                               (key, now)).rowcount == 1
        return won

    def close(self) -> None:
        """Nothing to close: connections belong to the process's pool."""
