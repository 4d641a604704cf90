"""Session-wide fixtures: the real model and a real index of the bundled story, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.answer import Desk
from bot.settings import DEFAULT_STORY, Settings
from index.embed import Embedder
from index.indexer import ingest
from index.ingest import load_story
from index.store import Store

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
