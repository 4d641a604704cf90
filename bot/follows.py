"""The feeds the desk follows, kept beside the index (``follows.sqlite``), with what each poll learnt.

Standard library ``sqlite3`` like :mod:`bot.seen`: several processes share it (``storydesk follow``
from a shell while ``storydesk serve`` polls), each write is one transaction, and it needs no
server. The interface is small on purpose (add, remove, list, get, record a poll, the entries seen)
so a PostgreSQL twin can stand in for it.

Per feed it keeps the conditional-request validators (ETag, Last-Modified), the time of the last
check and of the last success, the consecutive failures and the last error (for backoff and
``/healthz``), and per article link the stamp it had when last indexed, so an updated article is
fetched again and an unchanged one is not.

>>> follows = Follows.in_folder(settings.index_dir)
>>> follows.add("https://example.org/news.rss", "Example News")
True

With ``STORYDESK_DATABASE_URL`` set (issue #15), :func:`open_follows` gives :class:`PgFollows`, the
same interface on ``follows_feeds`` and ``follows_entries`` in that database, shared by every host.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from index.postgres_tables import SharedTables

if TYPE_CHECKING:
    from bot.settings import Settings
    from index.feeds import Feed
    from index.fetch import FetchPolicy

FILENAME = "follows.sqlite"
MAX_FOLLOWS = 200  # a desk follows its own sections, not the web

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '', added_at REAL NOT NULL,
    etag TEXT NOT NULL DEFAULT '', last_modified TEXT NOT NULL DEFAULT '',
    checked_at REAL NOT NULL DEFAULT 0, ok_at REAL NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS entries (
    feed TEXT NOT NULL REFERENCES feeds(url) ON DELETE CASCADE, link TEXT NOT NULL, stamp TEXT NOT NULL,
    PRIMARY KEY (feed, link)
);
"""


class FollowError(ValueError):
    """A follow that cannot be recorded (too many feeds); the message says why."""


@dataclass(frozen=True)
class FollowedFeed:
    """One followed feed and the state of its polling (times are Unix seconds; 0 = never)."""

    url: str
    title: str
    added_at: float
    etag: str = ""
    last_modified: str = ""
    checked_at: float = 0.0
    ok_at: float = 0.0
    failures: int = 0
    last_error: str = ""


class Follows:
    """The followed feeds in one SQLite file; safe to share between threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), timeout=10, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        """One immediate transaction: a check and the write after it see no other process in between."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @classmethod
    def in_folder(cls, folder: Path) -> Follows:
        """The follows kept beside the index in ``folder``."""
        return cls(Path(folder) / FILENAME)

    def add(self, url: str, title: str = "") -> bool:
        """Follow ``url``; False if it was followed already (its title is refreshed)."""
        with self._write():
            if self._db.execute("SELECT 1 FROM feeds WHERE url = ?", (url,)).fetchone():
                self._db.execute("UPDATE feeds SET title = ? WHERE url = ?", (title, url))
                return False
            (count,) = self._db.execute("SELECT COUNT(*) FROM feeds").fetchone()
            if count >= MAX_FOLLOWS:
                raise FollowError(f"the desk already follows {count} feeds (the limit); remove one first")
            self._db.execute("INSERT INTO feeds (url, title, added_at) VALUES (?, ?, ?)", (url, title, time.time()))
            return True

    def remove(self, url: str) -> bool:
        """Stop following ``url``; False if it was not followed."""
        with self._write():
            return self._db.execute("DELETE FROM feeds WHERE url = ?", (url,)).rowcount == 1

    def list(self) -> list[FollowedFeed]:
        """Every followed feed, oldest first."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM feeds ORDER BY added_at, url").fetchall()
        return [FollowedFeed(*row) for row in rows]

    def get(self, url: str) -> FollowedFeed | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM feeds WHERE url = ?", (url,)).fetchone()
        return FollowedFeed(*row) if row else None

    def record_success(self, url: str, *, etag: str, last_modified: str, at: float) -> None:
        """A poll that worked: keep the validators for the next conditional request; failures reset."""
        with self._write():
            self._db.execute("UPDATE feeds SET etag = ?, last_modified = ?, checked_at = ?, ok_at = ?, failures = 0, "
                             "last_error = '' WHERE url = ?", (etag, last_modified, at, at, url))

    def record_failure(self, url: str, error: str, *, at: float) -> None:
        """A poll that failed: one more consecutive failure, and why (shown in /healthz)."""
        with self._write():
            self._db.execute("UPDATE feeds SET checked_at = ?, failures = failures + 1, last_error = ? WHERE url = ?",
                             (at, error[:500], url))

    def entry_stamps(self, url: str) -> dict[str, str]:
        """link -> stamp of the feed's articles as last indexed."""
        with self._lock:
            return dict(self._db.execute("SELECT link, stamp FROM entries WHERE feed = ?", (url,)).fetchall())

    def remember_entries(self, url: str, stamps: Mapping[str, str]) -> None:
        """Record the stamps of articles just handled (a feed removed meanwhile records nothing)."""
        with self._write():
            if not self._db.execute("SELECT 1 FROM feeds WHERE url = ?", (url,)).fetchone():
                return
            self._db.executemany("INSERT OR REPLACE INTO entries (feed, link, stamp) VALUES (?, ?, ?)",
                                 [(url, link, stamp) for link, stamp in stamps.items()])

    def close(self) -> None:
        with self._lock:
            self._db.close()


_COLUMNS = "url, title, added_at, etag, last_modified, checked_at, ok_at, failures, last_error"


def open_follows(settings: Settings) -> Follows:
    """The configured follows: in the database when a URL is set, else ``follows.sqlite`` beside the index."""
    if settings.database_url:
        return PgFollows(settings.database_url, timeout_s=settings.database_timeout_s)
    return Follows.in_folder(settings.index_dir)


class PgFollows(Follows, SharedTables):
    """:class:`Follows` in the shared database; each call is one transaction on the primary.

    An unreachable database raises :class:`index.store.StoreUnavailable` with nothing written.
    """

    def __init__(self, url: str, *, timeout_s: float = 2.0) -> None:  # no SQLite file
        self._open_tables(url, timeout_s)

    def add(self, url: str, title: str = "") -> bool:
        with self._transaction() as conn:
            conn.execute("LOCK TABLE follows_feeds IN SHARE ROW EXCLUSIVE MODE")  # the count and the insert, alone
            if conn.execute("UPDATE follows_feeds SET title = %s WHERE url = %s", (title, url)).rowcount:
                return False
            row = conn.execute("SELECT COUNT(*) FROM follows_feeds").fetchone()
            count = int(row[0]) if row else 0
            if count >= MAX_FOLLOWS:
                raise FollowError(f"the desk already follows {count} feeds (the limit); remove one first")
            conn.execute("INSERT INTO follows_feeds (url, title, added_at) VALUES (%s, %s, %s)",
                         (url, title, time.time()))
            return True

    def remove(self, url: str) -> bool:
        with self._transaction() as conn:
            return bool(conn.execute("DELETE FROM follows_feeds WHERE url = %s", (url,)).rowcount == 1)

    def list(self) -> list[FollowedFeed]:
        with self._transaction() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM follows_feeds ORDER BY added_at, url").fetchall()
        return [FollowedFeed(*row) for row in rows]

    def get(self, url: str) -> FollowedFeed | None:
        with self._transaction() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM follows_feeds WHERE url = %s", (url,)).fetchone()
        return FollowedFeed(*row) if row else None

    def record_success(self, url: str, *, etag: str, last_modified: str, at: float) -> None:
        with self._transaction() as conn:
            conn.execute("UPDATE follows_feeds SET etag = %s, last_modified = %s, checked_at = %s, ok_at = %s, "
                         "failures = 0, last_error = '' WHERE url = %s", (etag, last_modified, at, at, url))

    def record_failure(self, url: str, error: str, *, at: float) -> None:
        with self._transaction() as conn:
            conn.execute("UPDATE follows_feeds SET checked_at = %s, failures = failures + 1, last_error = %s "
                         "WHERE url = %s", (at, error[:500], url))

    def entry_stamps(self, url: str) -> dict[str, str]:
        with self._transaction() as conn:
            return dict(conn.execute("SELECT link, stamp FROM follows_entries WHERE feed = %s", (url,)).fetchall())

    def remember_entries(self, url: str, stamps: Mapping[str, str]) -> None:
        with self._transaction() as conn:
            if not conn.execute("SELECT 1 FROM follows_feeds WHERE url = %s FOR SHARE", (url,)).fetchone():
                return
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO follows_entries (feed, link, stamp) VALUES (%s, %s, %s) "
                                "ON CONFLICT (feed, link) DO UPDATE SET stamp = EXCLUDED.stamp",
                                [(url, link, stamp) for link, stamp in stamps.items()])

    def close(self) -> None:
        """Nothing to close: connections belong to the process's pool."""


def follow_feed(follows: Follows, url: str, policy: FetchPolicy) -> tuple[Feed, bool]:
    """Check that ``url`` is an RSS or Atom feed (fetched safely) and follow it.

    Returns the feed as fetched and whether it is newly followed. Raises ``FetchError``,
    ``FeedError`` or :class:`FollowError` (all ``ValueError``) with a message for the user.
    """
    from index.feeds import fetch_feed
    from index.fetch import check_url

    feed = fetch_feed(str(check_url(url)), policy)
    return feed, follows.add(feed.url, feed.title)
