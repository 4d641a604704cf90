"""Which story a chat channel or thread is about: small, persistent, platform-neutral.

Keys name the platform so Slack and Discord share one file: ``"slack:C123"`` for a channel,
``"slack:C123:1712345678.000100"`` for a thread, ``"discord:987654321"`` for a Discord channel.

>>> bindings = Bindings.in_folder(settings.index_dir)
>>> bindings.bind("slack:C123", "met-police-safer-schools-officers")
>>> bindings.story_for("slack:C123", thread="slack:C123:1712345678.000100")
'met-police-safer-schools-officers'

The file is JSON in the index folder (``bindings.json``). Writes take a file lock and replace the
file atomically, so several processes (Slack and Discord servers, the CLI) can share it and a crash
never leaves half a file. Reads see the file's latest complete version.

With ``STORYDESK_DATABASE_URL`` set, :func:`open_bindings` gives :class:`PgBindings` instead: the
same interface on two tables of that database (``channel_bindings``, ``thread_bindings``), so every
bot host sees one set of bindings. Each change is one statement, atomic on its own.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from filelock import FileLock

from bot.seen import EventClaims, PgSeenKeys, SeenKeys
from index.postgres_tables import SharedTables

if TYPE_CHECKING:
    from bot.settings import Settings

FILENAME = "bindings.json"
MAX_THREADS = 5000  # thread memory is a convenience; forget the oldest beyond this


class ChatBindings(Protocol):
    """What the chat surfaces use; :class:`Bindings` (a file) and :class:`PgBindings` (a database) keep it."""

    def channel_story(self, channel: str) -> str | None: ...
    def thread_story(self, thread: str) -> str | None: ...
    def story_for(self, channel: str, thread: str | None = None) -> str | None: ...
    def bind(self, channel: str, story: str | None) -> None: ...
    def remember_thread(self, thread: str, story: str) -> None: ...
    def forget_story(self, story: str) -> bool: ...
    def seen_keys(self) -> EventClaims: ...


def open_bindings(settings: Settings) -> ChatBindings:
    """The configured bindings: in the database when a URL is set, else beside the index."""
    if settings.database_url:
        return PgBindings(settings.database_url, timeout_s=settings.database_timeout_s)
    return Bindings.in_folder(settings.index_dir)


def state_folder(bindings: ChatBindings, settings: Settings) -> Path:
    """The folder of the chat state kept beside ``bindings`` (the index folder when they are in a database)."""
    return bindings.path.parent if isinstance(bindings, Bindings) else settings.index_dir


class Bindings:
    """Channel -> story bindings and thread -> story memory, persisted in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = FileLock(str(self.path) + ".lock", timeout=10)
        self._thread_lock = threading.Lock()  # FileLock is re-entrant per object; guard threads too

    @classmethod
    def in_folder(cls, folder: Path) -> Bindings:
        """The bindings stored alongside the index in ``folder`` (created on first write)."""
        return cls(Path(folder) / FILENAME)

    def seen_keys(self) -> EventClaims:
        """The answered-events set kept beside these bindings (the same folder)."""
        return SeenKeys.in_folder(self.path.parent)

    # ------------------------------------------------------------------ reads

    def channel_story(self, channel: str) -> str | None:
        """The story bound to ``channel``, or None when it searches every story."""
        return self._read()["channels"].get(channel)

    def thread_story(self, thread: str) -> str | None:
        """The story a thread has been about, or None if it has no memory yet."""
        return self._read()["threads"].get(thread)

    def story_for(self, channel: str, thread: str | None = None) -> str | None:
        """The story to search: the thread's, else the channel's, else None (all stories)."""
        data = self._read()
        if thread and thread in data["threads"]:
            return data["threads"][thread]
        return data["channels"].get(channel)

    # ------------------------------------------------------------------ writes

    def bind(self, channel: str, story: str | None) -> None:
        """Bind ``channel`` to ``story``; ``None`` unbinds it (search every story again)."""

        def change(data: dict[str, Any]) -> None:
            if story is None:
                data["channels"].pop(channel, None)
            else:
                data["channels"][channel] = story

        self._update(change)

    def remember_thread(self, thread: str, story: str) -> None:
        """Remember that ``thread`` is about ``story`` so follow-ups stay on it."""

        def change(data: dict[str, Any]) -> None:
            threads: dict[str, str] = data["threads"]
            threads.pop(thread, None)  # re-insert so insertion order tracks recency
            threads[thread] = story
            for old in list(threads)[: max(0, len(threads) - MAX_THREADS)]:
                del threads[old]

        if self.thread_story(thread) != story:
            self._update(change)

    def forget_story(self, story: str) -> bool:
        """Drop every channel and thread bound to ``story`` (it was removed); True if any was."""
        found = story in self._read()["channels"].values() or story in self._read()["threads"].values()

        def change(data: dict[str, Any]) -> None:
            for key in ("channels", "threads"):
                data[key] = {k: v for k, v in data[key].items() if v != story}

        if found:
            self._update(change)
        return found

    # ------------------------------------------------------------------ storage

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except (OSError, ValueError):
            # A corrupt file must not take the bot down; start afresh (the next write replaces it).
            data = {}
        return {"channels": dict(data.get("channels", {})), "threads": dict(data.get("threads", {}))}

    def _update(self, change: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, self._lock:
            data = self._read()
            change(data)
            fd, tmp = tempfile.mkstemp(prefix=".bindings-", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(data, handle, ensure_ascii=False, indent=1, sort_keys=False)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise


class PgBindings(SharedTables):
    """:class:`Bindings` in the shared database; raises :class:`index.store.StoreUnavailable` when it is down."""

    def __init__(self, url: str, timeout_s: float = 2.0) -> None:
        self._open_tables(url, timeout_s)

    def seen_keys(self) -> EventClaims:
        return PgSeenKeys(self._url, timeout_s=self._timeout_s)

    def _one(self, sql: str, args: tuple[Any, ...]) -> str | None:
        with self._connection() as conn:
            row = conn.execute(sql, args).fetchone()
        return row[0] if row else None

    def channel_story(self, channel: str) -> str | None:
        return self._one("SELECT story FROM channel_bindings WHERE channel = %s", (channel,))

    def thread_story(self, thread: str) -> str | None:
        return self._one("SELECT story FROM thread_bindings WHERE thread = %s", (thread,))

    def story_for(self, channel: str, thread: str | None = None) -> str | None:
        """The thread's story, else the channel's, else None: one round trip."""
        return self._one(
            "SELECT coalesce((SELECT story FROM thread_bindings WHERE thread = %s), "
            "(SELECT story FROM channel_bindings WHERE channel = %s))", (thread or "", channel))

    def bind(self, channel: str, story: str | None) -> None:
        with self._connection() as conn:
            if story is None:
                conn.execute("DELETE FROM channel_bindings WHERE channel = %s", (channel,))
            else:
                conn.execute("INSERT INTO channel_bindings (channel, story) VALUES (%s, %s) "
                             "ON CONFLICT (channel) DO UPDATE SET story = EXCLUDED.story", (channel, story))

    def remember_thread(self, thread: str, story: str) -> None:
        with self._transaction() as conn:
            conn.execute("INSERT INTO thread_bindings (thread, story) VALUES (%s, %s) ON CONFLICT (thread) "
                         "DO UPDATE SET story = EXCLUDED.story, touched = nextval('thread_bindings_touch')",
                         (thread, story))
            # Thread memory is a convenience: keep the MAX_THREADS most recently touched.
            conn.execute("DELETE FROM thread_bindings WHERE touched < (SELECT min(touched) FROM "
                         "(SELECT touched FROM thread_bindings ORDER BY touched DESC LIMIT %s) recent)",
                         (MAX_THREADS,))

    def forget_story(self, story: str) -> bool:
        with self._transaction() as conn:
            gone = conn.execute("DELETE FROM channel_bindings WHERE story = %s", (story,)).rowcount
            gone += conn.execute("DELETE FROM thread_bindings WHERE story = %s", (story,)).rowcount
        return gone > 0
