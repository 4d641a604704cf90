"""What readers said about answers: 👍 / 👎 and, after 👎, what was wrong. Stored beside the index.

Every answer that gets feedback buttons is remembered first (:meth:`FeedbackStore.remember`): the
question, the story it searched, and the passages shown (story, paragraph numbers, excerpt and
paragraph text), under a random answer id that the buttons carry. A vote is then
:meth:`FeedbackStore.record`: one per user per answer (clicking again changes it), with the time
and a keyed hash of the user id. No names are stored; the key (``STORYDESK_FEEDBACK_KEY``, else a
random key kept in ``feedback.key`` beside the index, readable by its owner only) is not in the
database, so ids cannot be recovered by hashing a list of them.

The interface stays narrow so that a PostgreSQL store can sit beside this one: ``remember``,
``record``, ``votes`` (the list), and :func:`training_rows` (the export, a pure function of votes).
:func:`training_rows` writes the reader's training format (``eval/reader/train/*.jsonl``, read by
``training/data.py``): a 👍 on a found answer makes its first excerpt the gold span; a 👍 on "the
story doesn't say", or 👎 "should have said the story doesn't say", makes an unanswerable row.
Wrong passage, wrong speaker and other name no right answer, so they are left for a person.

Standard library ``sqlite3`` (WAL), like ``bot/seen.py``: one small file, no server, safe across
the processes that share an index folder; ``hmac`` for the user hash.

With ``STORYDESK_DATABASE_URL`` set (issue #15), :func:`open_feedback` gives
:class:`PgFeedbackStore`, the same interface on two tables of that database, so every bot host
records into one place. Hosts must then share ``STORYDESK_FEEDBACK_KEY``: a key file is per host,
and two keys would give one reader two pseudonyms.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.answer import Answer
from bot.seen import connect
from index.postgres_tables import SharedTables

if TYPE_CHECKING:
    from bot.settings import Settings

FILENAME = "feedback.sqlite"
KEY_FILENAME = "feedback.key"
UP, DOWN = "up", "down"
#: What 👎 asks next, in the order the buttons show: the stored choice and its label.
REASONS: dict[str, str] = {
    "wrong_passage": "Wrong passage",
    "wrong_speaker": "Wrong speaker",
    "doesnt_say": "Should have said the story doesn't say",
    "other": "Other",
}
CHOICES = (UP, DOWN, *REASONS)
# Remembered answers nobody voted on are dropped after this long (their buttons then say so).
KEEP_UNVOTED_S = 30 * 24 * 3600.0
_PRUNE_EVERY = 500
_ANSWER_ID_BYTES = 9  # 12 URL-safe characters: unguessable, and short enough for Discord's custom_id

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    answer_id TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    story TEXT,
    found INTEGER NOT NULL,
    shown TEXT NOT NULL,
    surface TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS votes (
    answer_id TEXT NOT NULL REFERENCES answers(answer_id),
    user_hash TEXT NOT NULL,
    surface TEXT NOT NULL,
    choice TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (answer_id, user_hash)
);
CREATE INDEX IF NOT EXISTS votes_at ON votes(at);
"""


@dataclass(frozen=True)
class ShownPassage:
    """One passage an answer showed: where it is and its words."""

    story: str
    paragraphs: tuple[int, ...]
    excerpt: str
    text: str
    speaker: str = ""


@dataclass(frozen=True)
class Vote:
    """One reader's latest verdict on one answer, with the answer as it was shown."""

    answer_id: str
    question: str
    story: str | None  # the story the question searched (None: all)
    found: bool
    shown: tuple[ShownPassage, ...]
    choice: str
    surface: str
    user_hash: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        """The ``storydesk feedback --json`` shape."""
        return {**asdict(self), "shown": [dict(asdict(p), paragraphs=list(p.paragraphs)) for p in self.shown]}


class UnknownAnswer(LookupError):
    """A vote for an answer id this store does not hold: forged, or older than its keep time."""


def _key_from_file(path: Path) -> bytes:
    """The hashing key in ``path``, created (owner-only) on first use."""
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as out:
        out.write(key.hex())
    return key


class FeedbackStore:
    """Votes in SQLite (``feedback.sqlite`` beside the index). With ``path=None``, in memory."""

    def __init__(self, path: Path | None = None, *, key: bytes | None = None) -> None:
        self.path = Path(path) if path is not None else None
        if key is None:
            key = _key_from_file(self.path.with_name(KEY_FILENAME)) if self.path else secrets.token_bytes(32)
        self._key = key
        self._lock = threading.Lock()
        self._writes = 0
        self._db = connect(self.path)
        self._db.executescript(_SCHEMA)

    @classmethod
    def in_folder(cls, folder: Path, key: str = "") -> FeedbackStore:
        """The store beside the index in ``folder``; ``key`` (``STORYDESK_FEEDBACK_KEY``) if set."""
        return cls(Path(folder) / FILENAME, key=key.encode() if key else None)

    def user_hash(self, surface: str, user: str) -> str:
        """A stable pseudonym for ``user`` on ``surface``; without the key it reveals nothing."""
        return hmac.new(self._key, f"{surface}:{user}".encode(), hashlib.sha256).hexdigest()[:32]

    def remember(self, answer: Answer, surface: str, *, shown: int | None = None) -> str:
        """Keep ``answer`` (its first ``shown`` hits) for votes to refer to; its new answer id."""
        answer_id = secrets.token_urlsafe(_ANSWER_ID_BYTES)
        passages = [{"story": h.story, "paragraphs": list(h.paragraphs), "excerpt": h.excerpt, "text": h.text,
                     "speaker": h.speaker} for h in answer.hits[:shown]]
        now = time.time()
        with self._lock:
            self._writes += 1
            if self._writes % _PRUNE_EVERY == 1:
                self._db.execute("DELETE FROM answers WHERE at < ? AND answer_id NOT IN (SELECT answer_id FROM votes)",
                                 (now - KEEP_UNVOTED_S,))
            self._db.execute("INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (answer_id, answer.question, answer.story, int(answer.found),
                              json.dumps(passages, ensure_ascii=False), surface, now))
        return answer_id

    def record(self, answer_id: str, choice: str, *, surface: str, user: str) -> Vote:
        """Set ``user``'s vote on ``answer_id`` to ``choice`` (replacing their earlier one).

        Raises ``ValueError`` for a choice not in :data:`CHOICES` and :class:`UnknownAnswer` for an
        answer this store does not hold; nothing is written then.
        """
        if choice not in CHOICES:
            raise ValueError(f"not a feedback choice: {choice[:40]!r}")
        who = self.user_hash(surface, user)
        with self._lock:
            row = self._db.execute("SELECT 1 FROM answers WHERE answer_id = ?", (answer_id,)).fetchone()
            if row is None:
                raise UnknownAnswer(answer_id)
            self._db.execute(
                "INSERT INTO votes VALUES (?, ?, ?, ?, ?) ON CONFLICT (answer_id, user_hash) "
                "DO UPDATE SET choice = excluded.choice, at = excluded.at, surface = excluded.surface",
                (answer_id, who, surface, choice, time.time()))
            [vote] = self._votes("WHERE v.answer_id = ? AND v.user_hash = ?", (answer_id, who))
        return vote

    def votes(self, since: float | None = None) -> list[Vote]:
        """Every vote (at or after ``since``, a Unix time), oldest first."""
        with self._lock:
            return self._votes("WHERE v.at >= ?", (since or 0.0,))

    def _votes(self, where: str, params: tuple[Any, ...]) -> list[Vote]:
        rows = self._db.execute(
            "SELECT v.answer_id, a.question, a.story, a.found, a.shown, v.choice, v.surface, v.user_hash, v.at "
            f"FROM votes v JOIN answers a USING (answer_id) {where} ORDER BY v.at, v.rowid", params).fetchall()
        return [Vote(aid, question, story, bool(found), _passages(shown), choice, surface, who, at)
                for aid, question, story, found, shown, choice, surface, who, at in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _passages(shown: str | list[dict[str, Any]]) -> tuple[ShownPassage, ...]:
    items = json.loads(shown) if isinstance(shown, str) else shown
    return tuple(ShownPassage(p["story"], tuple(p["paragraphs"]), p["excerpt"], p["text"], p.get("speaker", ""))
                 for p in items)


def open_feedback(settings: Settings, folder: Path) -> FeedbackStore:
    """The configured store: in the database when a URL is set, else ``feedback.sqlite`` in ``folder``."""
    if settings.database_url:
        key = settings.feedback_key.encode() if settings.feedback_key else _key_from_file(folder / KEY_FILENAME)
        return PgFeedbackStore(settings.database_url, key=key, timeout_s=settings.database_timeout_s)
    return FeedbackStore.in_folder(folder, settings.feedback_key)


class PgFeedbackStore(FeedbackStore, SharedTables):
    """:class:`FeedbackStore` in the shared database (``feedback_answers``, ``feedback_votes``).

    Same methods and results; each call is one transaction on the primary, and an unreachable
    database raises :class:`index.store.StoreUnavailable` with nothing written.
    """

    def __init__(self, url: str, *, key: bytes, timeout_s: float = 2.0) -> None:  # no SQLite file
        self.path = None
        self._key = key
        self._writes = 0
        self._open_tables(url, timeout_s)

    def remember(self, answer: Answer, surface: str, *, shown: int | None = None) -> str:
        answer_id = secrets.token_urlsafe(_ANSWER_ID_BYTES)
        passages = [{"story": h.story, "paragraphs": list(h.paragraphs), "excerpt": h.excerpt, "text": h.text,
                     "speaker": h.speaker} for h in answer.hits[:shown]]
        now = time.time()
        self._writes += 1
        with self._transaction() as conn:
            if self._writes % _PRUNE_EVERY == 1:
                conn.execute("DELETE FROM feedback_answers a WHERE at < %s AND NOT EXISTS "
                             "(SELECT 1 FROM feedback_votes v WHERE v.answer_id = a.answer_id)",
                             (now - KEEP_UNVOTED_S,))
            conn.execute("INSERT INTO feedback_answers VALUES (%s, %s, %s, %s, %s, %s, %s)",
                         (answer_id, answer.question, answer.story, answer.found,
                          json.dumps(passages, ensure_ascii=False), surface, now))
        return answer_id

    def record(self, answer_id: str, choice: str, *, surface: str, user: str) -> Vote:
        if choice not in CHOICES:
            raise ValueError(f"not a feedback choice: {choice[:40]!r}")
        who = self.user_hash(surface, user)
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM feedback_answers WHERE answer_id = %s", (answer_id,)).fetchone() is None:
                raise UnknownAnswer(answer_id)
            conn.execute(
                "INSERT INTO feedback_votes (answer_id, user_hash, surface, choice, at) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (answer_id, user_hash) DO UPDATE SET choice = EXCLUDED.choice, at = EXCLUDED.at, "
                "surface = EXCLUDED.surface", (answer_id, who, surface, choice, time.time()))
            [vote] = self._pg_votes(conn, "WHERE v.answer_id = %s AND v.user_hash = %s", (answer_id, who))
        return vote

    def votes(self, since: float | None = None) -> list[Vote]:
        with self._connection() as conn:
            return self._pg_votes(conn, "WHERE v.at >= %s", (since or 0.0,))

    @staticmethod
    def _pg_votes(conn: Any, where: str, params: tuple[Any, ...]) -> list[Vote]:
        rows = conn.execute(
            "SELECT v.answer_id, a.question, a.story, a.found, a.shown, v.choice, v.surface, v.user_hash, v.at "
            f"FROM feedback_votes v JOIN feedback_answers a USING (answer_id) {where} ORDER BY v.at, v.seq",
            params).fetchall()
        return [Vote(aid, question, story, bool(found), _passages(shown), choice, surface, who, at)
                for aid, question, story, found, shown, choice, surface, who, at in rows]

    def close(self) -> None:
        """Nothing to close: connections belong to the process's pool."""


def training_rows(votes: Iterable[Vote]) -> tuple[list[dict[str, Any]], int]:
    """Rows in the reader's training format for the votes that say what the right answer is,
    and how many votes were left out because they do not (they need a person to mark the span).

    Duplicates (several readers agreeing on one question) become one row.
    """
    rows: dict[tuple[str, str, tuple[str, ...]], dict[str, Any]] = {}
    skipped = 0
    for vote in votes:
        story = vote.story or (vote.shown[0].story if vote.shown else None)
        negative = vote.choice == "doesnt_say" or (vote.choice == UP and not vote.found)
        if story is None or not (negative or (vote.choice == UP and vote.shown)):
            skipped += 1
            continue
        gold = [] if negative else [vote.shown[0].excerpt]
        story = story if negative else vote.shown[0].story
        row: dict[str, Any] = {"story": story, "question": vote.question, "gold": gold}
        row.update({"kind": "negative", "expect": "none"} if negative else {"kind": "feedback"})
        row["writer"] = "feedback"
        rows.setdefault((story, vote.question, tuple(gold)), row)
    return list(rows.values()), skipped
