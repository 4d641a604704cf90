"""PostgreSQL plumbing shared by the pgvector store and the bot's shared state: pools and migrations.

psycopg 3 with psycopg-pool (the maintained driver and its pool). The pool checks a connection
before lending it (``check_connection``), so after the database restarts the next call gets a fresh
connection and service resumes by itself; pgvector's adapter turns numpy arrays into ``vector``.
Every connection failure surfaces as :class:`index.store.StoreUnavailable`, so callers report "the
desk is unavailable" instead of a traceback; the transaction in flight is rolled back by the server.

Migrations are plain SQL files in ``index/migrations/`` named ``NNNN_what.sql``, applied in order,
each in its own transaction together with its row in ``schema_version``, under an advisory lock so
two hosts starting at once do not apply one twice. ``storydesk db upgrade`` runs them; opening a
store or the shared state on the primary runs any that are missing too.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from pgvector.psycopg import register_vector
from psycopg_pool import ConnectionPool, PoolTimeout

from index.store import StoreUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x5D_15  # pg_advisory_lock key while migrations run
POOL_MAX = 8

_pools: dict[tuple[str, bool], ConnectionPool] = {}
_pools_lock = threading.Lock()


def safe_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1@", url)


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration file, in order."""
    found = []
    for path in sorted(MIGRATIONS.glob("*.sql")):
        version = int(path.name.split("_", 1)[0])
        found.append((version, path.stem, path.read_text(encoding="utf-8")))
    return found


def upgrade(url: str, timeout_s: float = 5.0) -> list[str]:
    """Apply the migrations ``url``'s database lacks; return the names applied (none: up to date)."""
    applied_now: list[str] = []
    with unavailable_as_error(url), psycopg.connect(url, autocommit=True,
                                                    connect_timeout=max(1, int(timeout_s))) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, "
                         "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
            done = {row[0] for row in conn.execute("SELECT version FROM schema_version")}
            for version, name, sql in migrations():
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(sql.encode())  # no parameters: several statements in one call
                    conn.execute("INSERT INTO schema_version (version, name) VALUES (%s, %s)", (version, name))
                applied_now.append(name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
    return applied_now


def schema_version(url: str) -> int:
    """The highest migration applied to ``url``'s database (0: none)."""
    with connection(url) as conn:
        row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
        if not row or not row[0]:
            return 0
        found = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(found[0] or 0) if found else 0


def _configure(conn: psycopg.Connection) -> None:
    register_vector(conn)


def pool(url: str, *, timeout_s: float = 5.0, vectors: bool = True) -> ConnectionPool:
    """The process's pool for ``url`` (one per URL, shared by every caller, opened on first use)."""
    key = (url, vectors)
    with _pools_lock:
        found = _pools.get(key)
        if found is None:
            found = ConnectionPool(
                url, min_size=1, max_size=POOL_MAX, timeout=timeout_s, open=True,
                kwargs={"autocommit": True, "connect_timeout": max(1, int(timeout_s))},
                configure=_configure if vectors else None, check=ConnectionPool.check_connection,
                reconnect_timeout=24 * 3600.0, name=f"storydesk {safe_url(url)}")
            _pools[key] = found
        return found


@contextmanager
def unavailable_as_error(url: str) -> Iterator[None]:
    """Turn "cannot reach the database" into :class:`StoreUnavailable` naming ``url`` (no password)."""
    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreUnavailable(f"the database at {safe_url(url)} is unavailable: {reason}") from exc


@contextmanager
def connection(url: str, *, timeout_s: float = 5.0, vectors: bool = False) -> Iterator[psycopg.Connection]:
    """A pooled autocommit connection to ``url``; open a transaction with ``conn.transaction()``."""
    with unavailable_as_error(url), pool(url, timeout_s=timeout_s, vectors=vectors).connection() as conn:
        yield conn


def close_pools(url: str | None = None) -> None:
    """Close the pools this process opened to ``url`` (every URL when None): tests, a clean shutdown."""
    with _pools_lock:
        for key in [k for k in _pools if url is None or k[0] == url]:
            _pools.pop(key).close()
