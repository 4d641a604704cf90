"""The base of the bot's small shared tables in PostgreSQL (de-dup, bindings, feedback, follows).

Kept apart from :mod:`index.postgres` so that importing the bot's modules does not import psycopg
when no database is configured.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg


class SharedTables:
    """Base of the bot's small shared tables (de-dup, bindings, feedback, follows) on the primary.

    Subclasses call :meth:`_open_tables` from their constructor: it applies missing migrations.
    """

    _url: str
    _timeout_s: float

    def _open_tables(self, url: str, timeout_s: float) -> None:
        self._url = url
        self._timeout_s = timeout_s
        from index import postgres  # psycopg loads only when a database is configured

        postgres.upgrade(url, timeout_s)

    def _connection(self) -> AbstractContextManager[psycopg.Connection]:
        """A pooled autocommit connection: each statement commits on its own."""
        from index import postgres

        return postgres.connection(self._url, timeout_s=self._timeout_s)

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection]:
        """A pooled connection inside one transaction, committed when the block ends."""
        with self._connection() as conn, conn.transaction():
            yield conn
