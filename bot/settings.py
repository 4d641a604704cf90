"""The one settings object: every environment variable storydesk reads is read here.

A ``.env`` file at the project root (or the working directory) is loaded first with
python-dotenv, without overriding variables already set. ``.env.example`` documents each one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dotenv import load_dotenv

if TYPE_CHECKING:
    from index.fetch import FetchPolicy
    from index.store import IndexStore

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INDEX = PROJECT_ROOT / "var" / "index"
DEFAULT_STORY = PROJECT_ROOT / "stories" / "met-police-safer-schools-officers.txt"
DEFAULT_SHARED = PROJECT_ROOT.parent / "shared"
SLACK_API_DEFAULT = "https://slack.com/api/"
DISCORD_API_DEFAULT = "https://discord.com/api/v10"
MAX_BODY_BYTES = 1_000_000  # Slack's and Discord's payloads are a few KB; a message is at most 40 KB
BODY_TIMEOUT_S = 10.0  # they send those KB at once; uvicorn itself never times a body out


def _csv(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def _log_format(value: str) -> str:
    value = value.strip().lower()
    if value not in ("text", "json"):
        raise ValueError(f"STORYDESK_LOG_FORMAT must be 'text' or 'json', not {value!r}")
    return value


@dataclass(frozen=True)
class Settings:
    """Configuration for the CLI, the servers and the adapters. Build it with :meth:`from_env`."""

    index_dir: Path = DEFAULT_INDEX
    model_dir: Path | None = None
    log_level: str = "INFO"
    host: str = "0.0.0.0"
    port: int = 3000
    health_port: int = 3001
    slack_bot_token: str = field(default="", repr=False)
    slack_signing_secret: str = field(default="", repr=False)
    slack_app_token: str = field(default="", repr=False)
    slack_api_url: str = SLACK_API_DEFAULT
    admin_users: frozenset[str] = frozenset()
    discord_application_id: str = ""
    discord_public_key: str = ""
    discord_bot_token: str = field(default="", repr=False)
    discord_api_url: str = DISCORD_API_DEFAULT
    # Limits a chat user can hit (docs/slack.md, docs/discord.md): request bodies over this many
    # bytes are refused with 413, and an answer not ready within the budget is replaced by a
    # polite "took too long". A body not received whole within body_timeout_s gets 408 (a
    # client that opens a request and trickles or stops would otherwise hold it open for ever).
    max_body_bytes: int = MAX_BODY_BYTES
    body_timeout_s: float = BODY_TIMEOUT_S
    # Open connections (and requests in flight) the server holds before answering 503: uvicorn has
    # no timeout while headers arrive, so this bounds what clients that never finish can hold.
    max_connections: int = 200
    answer_budget_s: float = 30.0
    # The shared annotation folder (corpus/, eval/) that `storydesk eval` reads: ../shared beside
    # the repository unless STORYDESK_SHARED says otherwise.
    shared_dir: Path = DEFAULT_SHARED
    # --- adding stories from links and following feeds (issue #14) ---
    # Hosts that may resolve to private or loopback addresses (an intranet CMS; tests' 127.0.0.1).
    fetch_allow_hosts: frozenset[str] = frozenset()
    # Minutes between polls of each followed feed by `storydesk serve`.
    follow_minutes: float = 10.0
    # --- feedback and metrics (issue #14 parts 3 and 4) ---
    # The key that hashes chat user ids in feedback.sqlite; empty: a random key kept in
    # feedback.key beside the index. "json" logs one JSON object per line.
    feedback_key: str = field(default="", repr=False)
    log_format: str = "text"
    # --- PostgreSQL + pgvector (issue #15; docs/scale.md). With a URL, the index, event de-duplication
    # and channel bindings live in that database instead of index_dir; reads of the index may go to
    # a streaming replica. ef_search: HNSW candidates examined per archive-wide query (>= 256, the
    # shortlist search re-ranks). The timeout bounds each wait for a connection.
    database_url: str = field(default="", repr=False)  # may carry a password
    database_read_url: str = field(default="", repr=False)
    hnsw_ef_search: int = 256
    database_timeout_s: float = 2.0  # under Slack's 3-second ack, so a down database is reported in time

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, *, dotenv: bool = True) -> Settings:
        """Read settings from ``environ`` (default: the process environment, after ``.env``)."""
        if environ is None:
            if dotenv:
                load_dotenv(PROJECT_ROOT / ".env", override=False)
            environ = dict(os.environ)
        env = environ.get
        default = cls()  # an unset or empty variable takes the field's default
        model_dir = env("STORYDESK_MODEL_DIR", "")
        return cls(
            index_dir=Path(env("STORYDESK_INDEX", "") or DEFAULT_INDEX),
            model_dir=Path(model_dir) if model_dir else None,
            log_level=env("STORYDESK_LOG_LEVEL", "INFO").upper(),
            host=env("STORYDESK_HOST", "0.0.0.0"),
            port=int(env("STORYDESK_PORT", "3000")),
            health_port=int(env("STORYDESK_HEALTH_PORT", "3001")),
            slack_bot_token=env("SLACK_BOT_TOKEN", ""),
            slack_signing_secret=env("SLACK_SIGNING_SECRET", ""),
            slack_app_token=env("SLACK_APP_TOKEN", ""),
            slack_api_url=env("SLACK_API_URL", "") or SLACK_API_DEFAULT,
            admin_users=_csv(env("STORYDESK_ADMIN_USERS", "")),
            discord_application_id=env("DISCORD_APPLICATION_ID", ""),
            discord_public_key=env("DISCORD_PUBLIC_KEY", ""),
            discord_bot_token=env("DISCORD_BOT_TOKEN", ""),
            discord_api_url=env("DISCORD_API_URL", "") or DISCORD_API_DEFAULT,
            max_body_bytes=int(env("STORYDESK_MAX_BODY_BYTES", "") or default.max_body_bytes),
            body_timeout_s=float(env("STORYDESK_BODY_TIMEOUT_S", "") or default.body_timeout_s),
            max_connections=int(env("STORYDESK_MAX_CONNECTIONS", "") or default.max_connections),
            answer_budget_s=float(env("STORYDESK_ANSWER_BUDGET_S", "") or default.answer_budget_s),
            shared_dir=Path(env("STORYDESK_SHARED", "") or DEFAULT_SHARED),
            fetch_allow_hosts=frozenset(h.lower() for h in _csv(env("STORYDESK_FETCH_ALLOW_HOSTS", ""))),
            follow_minutes=float(env("STORYDESK_FOLLOW_MINUTES", "") or default.follow_minutes),
            # --- feedback and metrics (issue #14 parts 3 and 4) ---
            feedback_key=env("STORYDESK_FEEDBACK_KEY", ""),
            log_format=_log_format(env("STORYDESK_LOG_FORMAT", "") or "text"),
            database_url=database_url(env("STORYDESK_DATABASE_URL", "")),
            database_read_url=database_url(env("STORYDESK_DATABASE_READ_URL", "")),
            hnsw_ef_search=int(env("STORYDESK_HNSW_EF_SEARCH", "") or default.hnsw_ef_search),
            database_timeout_s=float(env("STORYDESK_DATABASE_TIMEOUT_S", "") or default.database_timeout_s),
        )

    def fetch_policy(self) -> FetchPolicy:
        """The limits for fetching pages and feeds (index/ never reads settings itself)."""
        from index.fetch import FetchPolicy

        return FetchPolicy(allow_hosts=self.fetch_allow_hosts)


class SettingsError(ValueError):
    """A setting that cannot work, with what is expected instead."""


def database_url(value: str) -> str:
    """A PostgreSQL URL, or "" for none; anything else is refused with what is expected."""
    value = value.strip()
    if value and not value.startswith(("postgresql://", "postgres://")):
        raise SettingsError("a database URL starts with postgresql:// (e.g. postgresql://user@host:5432/storydesk)")
    return value


def open_index(settings: Settings) -> IndexStore:
    """The index the settings name: the PostgreSQL database when a URL is set, else the folder."""
    from index.store import open_store

    return open_store(settings.index_dir, settings.database_url, read_url=settings.database_read_url,
                      ef_search=settings.hnsw_ef_search, timeout_s=settings.database_timeout_s)
