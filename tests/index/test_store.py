"""The store contract: persistence, re-ingest, remove, crash safety, concurrency, model checks.

Tests taking ``open_index`` run against both backends (the embedded folder, and PostgreSQL +
pgvector on the session's throwaway server: ``-m postgres`` selects those); the FAISS-file tests
are the embedded store's own. Real SQLite, FAISS, PostgreSQL and the real MiniLM (the session
``embedder``); every write goes to a fresh folder or database. Crashes are real: a child process
is SIGKILLed while it is inside a write, at a point it announces itself (no sleeps or timing in
the assertions).
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from index.embed import MODEL_NAME, TUNED_NAME, WEIGHTS_FILE, Embedder, ModelError, ModelInfo, verify_weights
from index.indexer import build_records, fingerprint, ingest
from index.ingest import load_story
from index.search import Searcher
from index.store import IndexMismatch, Store
from index.store_copy import copy_index

REPO = Path(__file__).resolve().parents[2]

BRIDGE = """Bridge closure to last until spring

Hammersmith Bridge will stay shut to cars until at least April, the council confirmed on Tuesday.

Engineers found new cracks in the cast-iron pedestals during a routine inspection in January.

"We cannot take any risks with public safety," said council leader Stephen Cowan.
"""

LIBRARY = """Library saved after campaign

The Stoke Newington library will stay open after a six-month campaign by residents, the council said.

Campaigners collected more than 3,000 signatures for the petition.
"""

MARKET = """Market traders win rent freeze

Traders at Ridley Road market will pay no more rent for two years after the council agreed a freeze.

The traders had warned that a 12% rise would force dozens of stalls to close.
"""

ZOO = """Zoo welcomes twin red panda cubs

Keepers at the city zoo say twin red panda cubs were born last month and are doing well.

The cubs will go on show to visitors in the autumn once they are old enough.
"""


def _story(tmp_path: Path, name: str, text: str, **kw):
    path = tmp_path / "src" / f"{name}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return load_story(path, **kw)


def _state(open_index) -> tuple[int, list[tuple]]:
    """What a reader sees: the generation and every story with its paragraph count."""
    store = open_index()
    return store.generation(), [(s.id, s.headline, s.paragraphs) for s in store.list_stories()]


# --- persistence, re-ingest, remove ---------------------------------------------------------


def test_new_store_and_searcher_on_the_same_index_see_the_stories(tmp_path, embedder, open_index):
    report = ingest(open_index(), embedder,
                    [_story(tmp_path, "bridge", BRIDGE), _story(tmp_path, "library", LIBRARY, url="https://x.org/lib")])
    assert report.added == ["bridge", "library"] and report.generation == 1

    store = open_index()  # as a new process would
    infos = store.list_stories()
    assert [(s.id, s.headline, s.paragraphs, s.url) for s in infos] == [
        ("bridge", "Bridge closure to last until spring", 3, ""),
        ("library", "Library saved after campaign", 2, "https://x.org/lib"),
    ]
    assert store.model_info() == embedder.info
    snap = store.snapshot()
    assert snap.generation == 1 and len(snap.units) == len(snap.vectors) == store.counts()["units"] > 0
    result = Searcher(store, embedder).search("Why is Hammersmith Bridge still closed to cars?")
    assert result.found and result.hits[0].story == "bridge" and result.hits[0].paragraph in (1, 2)
    result = Searcher(store, embedder).search("How many people signed the library petition?")
    assert result.hits[0].story == "library" and result.hits[0].paragraph == 2
    assert result.hits[0].url == "https://x.org/lib"


def test_reingesting_unchanged_story_is_skipped(tmp_path, embedder, open_index):
    story = _story(tmp_path, "bridge", BRIDGE)
    first = ingest(open_index(), embedder, [story])
    counts = open_index().counts()
    again = ingest(open_index(), embedder, [_story(tmp_path, "bridge", BRIDGE)])
    assert again.unchanged == ["bridge"] and not again.added and not again.replaced
    assert again.generation == first.generation == open_index().generation()
    assert open_index().counts() == counts
    assert counts["paragraphs"] == 3 and counts["stories"] == 1


def test_changed_story_replaces_the_old_one(tmp_path, embedder, open_index):
    ingest(open_index(), embedder, [_story(tmp_path, "bridge", BRIDGE)])
    searcher = Searcher(open_index(), embedder)
    assert searcher.search("Why is Hammersmith Bridge still closed?").found
    updated = BRIDGE.replace("until at least April", "until at least September") + (
        "\nA temporary ferry service will start in June.\n")
    report = ingest(open_index(), embedder, [_story(tmp_path, "bridge", updated)])
    assert report.replaced == ["bridge"] and report.generation == 2
    story = searcher.stories()["bridge"]  # the running searcher picks up generation 2
    assert len(story.paragraphs) == 4
    assert "September" in story.paragraphs[0].text and "April" not in story.paragraphs[0].text
    assert open_index().counts()["paragraphs"] == 4
    assert max(u.paragraph for u in open_index().snapshot().units) == 4  # no unit of the old version left
    hit = searcher.search("When does the stand-in ferry begin running?").hits[0]
    assert (hit.story, hit.paragraph) == ("bridge", 4)


def test_same_id_twice_in_one_ingest_is_refused(tmp_path, embedder, open_index):
    story = _story(tmp_path, "bridge", BRIDGE)
    with pytest.raises(ValueError, match="appears twice"):
        ingest(open_index(), embedder, [story, story])
    assert _state(open_index) == (0, [])


def test_remove_deletes_story_paragraphs_units_and_quotes(tmp_path, embedder, open_index):
    ingest(open_index(), embedder, [_story(tmp_path, "library", LIBRARY)])
    library_only = open_index().counts()
    ingest(open_index(), embedder, [_story(tmp_path, "bridge", BRIDGE)])
    searcher = Searcher(open_index(), embedder)
    assert set(searcher.stories()) == {"bridge", "library"}
    generation = open_index().write([], remove=["bridge"], model=embedder.info)
    assert generation == 3
    assert set(searcher.stories()) == {"library"}
    assert open_index().counts() == library_only  # the bridge's paragraphs, units and quotes are gone
    assert {u.story for u in open_index().snapshot().units} == {"library"}
    assert all(h.story == "library" for h in searcher.search("Hammersmith Bridge cracks").hits)
    # Removing the last story leaves a working, empty index.
    open_index().write([], remove=["library"], model=embedder.info)
    result = searcher.search("Is the library staying open?")
    assert not result.found and result.hits == ()


# --- crash safety -----------------------------------------------------------------------------

_CHILD = r"""
import pickle, sys, time
from pathlib import Path
from index.store import Store, open_store

root, url, payload, flag, where = sys.argv[1:]
records, info = pickle.loads(Path(payload).read_bytes())
store = open_store(Path(root), url)

if where == "insert":  # die inside the transaction, after the first story's rows are written
    original = type(store)._insert
    def _insert(self, conn, record, seq):
        original(self, conn, record, seq)
        Path(flag).write_text("inside")
        time.sleep(600)
    type(store)._insert = _insert
else:  # die after the commit, before the generation's FAISS file is written
    def _write_vectors(self, conn, generation):
        Path(flag).write_text(str(generation))
        time.sleep(600)
    Store._write_vectors = _write_vectors

store.write(records, model=info)
"""


def _kill_writer_at(tmp_path: Path, root: Path, records, info, where: str, url: str = "") -> None:
    """Run ``write`` in a child process (on ``url``'s database, else the folder) and SIGKILL it at ``where``."""
    payload = tmp_path / f"records-{where}.pkl"
    payload.write_bytes(pickle.dumps((records, info)))
    flag = tmp_path / f"reached-{where}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(root), url, str(payload), str(flag), where],
                             cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120  # a guard against a hung test, not a timing assertion
        while not flag.exists():
            if child.poll() is not None:
                pytest.fail(f"writer exited before reaching {where}: {child.stderr.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail(f"writer never reached {where}")
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL


def test_writer_killed_mid_transaction_leaves_previous_index_intact(tmp_path, embedder, open_index):
    ingest(open_index(), embedder, [_story(tmp_path, "bridge", BRIDGE)])
    before = _state(open_index)
    counts = open_index().counts()
    searcher = Searcher(open_index(), embedder)
    answer_before = searcher.search("What did the engineers find?")

    new = [replace(s, content_hash=fingerprint(s)) for s in
           (_story(tmp_path, "library", LIBRARY), _story(tmp_path, "market", MARKET),
            _story(tmp_path, "bridge", BRIDGE.replace("April", "May")))]
    store = open_index()
    where = store.root if isinstance(store, Store) else tmp_path / "unused"
    url = "" if isinstance(store, Store) else store.url
    _kill_writer_at(tmp_path, where, build_records(new, embedder), embedder.info, "insert", url)

    assert _state(open_index) == before
    assert open_index().counts() == counts  # nothing of the dead writer's stories was kept
    assert set(searcher.stories()) == {"bridge"}
    fresh = Searcher(open_index(), embedder)  # a reader started after the crash
    answer_after = fresh.search("What did the engineers find?")
    assert answer_after.found == answer_before.found
    assert [(h.story, h.paragraph, h.excerpt) for h in answer_after.hits] == \
        [(h.story, h.paragraph, h.excerpt) for h in answer_before.hits]
    assert "April" in fresh.stories()["bridge"].paragraphs[0].text

    # The dead writer's locks died with it: the next ingest goes through and lands everything.
    report = ingest(open_index(), embedder, [_story(tmp_path, "library", LIBRARY)])
    assert report.added == ["library"] and report.generation == before[0] + 1
    assert set(fresh.stories()) == {"bridge", "library"}


def test_writer_killed_before_faiss_file_is_rebuilt_from_sqlite(tmp_path, embedder, fresh_index):
    ingest(Store.open(fresh_index), embedder, [_story(tmp_path, "bridge", BRIDGE)])
    new = [replace(s, content_hash=fingerprint(s)) for s in [_story(tmp_path, "zoo", ZOO)]]
    _kill_writer_at(tmp_path, fresh_index, build_records(new, embedder), embedder.info, "vectors")

    assert not (fresh_index / "vectors-2.faiss").exists()
    store = Store.open(fresh_index)
    assert store.generation() == 2  # the transaction committed
    assert (fresh_index / "vectors-2.faiss").is_file()  # restored when the store opened
    snap = store.snapshot()
    assert snap.faiss_index.ntotal == len(snap.units) > 0
    result = Searcher(store, embedder).search("When can visitors see the red panda cubs?")
    assert result.found and result.hits[0].story == "zoo"
    # The next write writes a proper file again.
    ingest(store, embedder, [_story(tmp_path, "market", MARKET)])
    assert (fresh_index / "vectors-3.faiss").is_file()


def test_missing_faiss_file_is_rebuilt_with_the_same_answers(tmp_path, embedder, fresh_index):
    ingest(Store.open(fresh_index), embedder,
           [_story(tmp_path, "bridge", BRIDGE), _story(tmp_path, "zoo", ZOO)])
    q = "When were the panda cubs born?"
    before = Searcher(Store.open(fresh_index), embedder).search(q)
    (fresh_index / "vectors-1.faiss").unlink()
    after = Searcher(Store.open(fresh_index), embedder).search(q)
    assert [(h.story, h.paragraph, h.excerpt) for h in after.hits] == \
        [(h.story, h.paragraph, h.excerpt) for h in before.hits]
    assert after.hits[0].story == "zoo"


def test_stale_faiss_file_of_the_wrong_size_is_not_trusted(tmp_path, embedder, fresh_index):
    ingest(Store.open(fresh_index), embedder, [_story(tmp_path, "bridge", BRIDGE)])
    ingest(Store.open(fresh_index), embedder, [_story(tmp_path, "zoo", ZOO)])
    # Pretend generation 2's file is generation 1's (fewer vectors): it must be rebuilt.
    os.replace(fresh_index / "vectors-1.faiss", fresh_index / "vectors-2.faiss")
    snap = Store.open(fresh_index).snapshot()
    assert snap.faiss_index.ntotal == len(snap.units)
    hit = Searcher(Store.open(fresh_index), embedder).search("When were the panda cubs born?").hits[0]
    assert hit.story == "zoo"


def test_corrupt_faiss_file_is_rebuilt_from_sqlite(tmp_path, embedder, fresh_index):
    ingest(Store.open(fresh_index), embedder, [_story(tmp_path, "zoo", ZOO)])
    path = fresh_index / "vectors-1.faiss"
    path.write_bytes(path.read_bytes()[:100])  # truncated, as by a full disk
    snap = Store.open(fresh_index).snapshot()
    assert snap.faiss_index.ntotal == len(snap.units)
    assert Searcher(Store.open(fresh_index), embedder).search("When were the panda cubs born?").found


# --- concurrency ------------------------------------------------------------------------------


def test_reader_keeps_answering_during_an_ingest_and_then_sees_the_new_story(tmp_path, embedder, open_index):
    ingest(open_index(), embedder, [_story(tmp_path, "bridge", BRIDGE)])
    reader = Searcher(open_index(), embedder)
    assert reader.state().snap.generation == 1
    stories = [_story(tmp_path, "library", LIBRARY), _story(tmp_path, "market", MARKET),
               _story(tmp_path, "zoo", ZOO)]
    errors: list[BaseException] = []

    def writer():
        try:
            for s in stories:  # three separate commits while the reader works
                ingest(open_index(), embedder, [s])
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    answers = 0
    generations = set()
    while thread.is_alive() or answers < 3:
        result = reader.search("What did the engineers find on the bridge?")
        assert result.hits and result.hits[0].story == "bridge"
        generations.add(reader.state().snap.generation)
        answers += 1
    thread.join()
    assert not errors
    assert reader.store.generation() == 4
    # Without a restart the same reader now answers from the new stories.
    assert set(reader.stories()) == {"bridge", "library", "market", "zoo"}
    hit = reader.search("How long will the market rent freeze last?").hits[0]
    assert (hit.story, hit.paragraph) == ("market", 1)
    assert max(generations | {reader.state().snap.generation}) == 4


def test_two_concurrent_writers_are_serialised_and_both_land(tmp_path, embedder, open_index):
    ingest(open_index(), embedder, [_story(tmp_path, "bridge", BRIDGE)])
    groups = [[_story(tmp_path, "library", LIBRARY), _story(tmp_path, "zoo", ZOO)],
              [_story(tmp_path, "market", MARKET)]]
    # Hold the writers' lock so both writers queue up behind it, then let them race.
    holder = open_index()
    barrier = threading.Barrier(3)
    reports, errors = [], []

    def writer(group):
        try:
            store = open_index()
            barrier.wait()
            reports.append(ingest(store, embedder, group))
        except BaseException as exc:
            errors.append(exc)

    with holder.write_lock():
        threads = [threading.Thread(target=writer, args=(g,)) for g in groups]
        for t in threads:
            t.start()
        barrier.wait()
        threads[0].join(timeout=0.5)
        threads[1].join(timeout=0.01)
        assert all(t.is_alive() for t in threads), "a writer wrote while another held the lock"
        assert open_index().generation() == 1
    for t in threads:
        t.join()
    assert not errors
    assert sorted(r.generation for r in reports) == [2, 3]  # one after the other, none lost
    infos = {s.id: s.paragraphs for s in open_index().list_stories()}
    assert infos == {"bridge": 3, "library": 2, "zoo": 2, "market": 2}
    assert open_index().counts()["paragraphs"] == 9
    snap = open_index().snapshot()
    assert snap.generation == 3 and len(snap.vectors) == len(snap.units) == open_index().counts()["units"]


# --- model checks -----------------------------------------------------------------------------


@pytest.mark.parametrize("other", [
    ModelInfo("sentence-transformers/all-mpnet-base-v2", "ab" * 32, 768),
    ModelInfo(MODEL_NAME, "cd" * 32, 384),
])
def test_index_built_with_another_model_is_refused_clearly(tmp_path, embedder, open_index, other):
    open_index().write([], model=other)  # an index recorded with another model
    before = _state(open_index)
    with pytest.raises(IndexMismatch) as err:
        open_index().check_model(embedder.info)
    message = str(err.value)
    assert other.name in message and other.sha256[:12] in message and f"{other.dimension}-d" in message
    assert embedder.info.sha256[:12] in message and "384-d" in message
    assert "storydesk db copy --reembed" in message
    with pytest.raises(IndexMismatch):
        ingest(open_index(), embedder, [_story(tmp_path, "bridge", BRIDGE)])
    with pytest.raises(IndexMismatch):  # the write itself refuses too, not only ingest's early check
        open_index().write([], model=embedder.info)
    assert _state(open_index) == before


def test_same_model_is_accepted_and_recorded(tmp_path, embedder, open_index):
    store = open_index()
    assert store.model_info() is None
    store.check_model(embedder.info)  # an empty index accepts any model
    ingest(store, embedder, [_story(tmp_path, "bridge", BRIDGE)])
    assert open_index().model_info() == embedder.info
    assert embedder.info.dimension == 384 and embedder.info.name == TUNED_NAME


def test_an_index_of_the_base_model_moves_onto_the_fine_tuned_one_whole(tmp_path, embedder, open_index):
    """What a desk does after `make train` changed the model: nothing lost, vectors as a fresh ingest's."""
    import numpy as np

    stories = [_story(tmp_path, "bridge", BRIDGE), _story(tmp_path, "zoo", ZOO)]
    old = Store.open(tmp_path / "old")
    ingest(old, Embedder.load(tuned_dir=None), stories)
    with pytest.raises(IndexMismatch, match="--reembed"):
        ingest(old, embedder, [_story(tmp_path, "library", LIBRARY)])
    report = copy_index(old, open_index(), embedder)
    moved = open_index()
    assert moved.model_info() == embedder.info and report.counts == old.counts()
    fresh = Store.open(tmp_path / "fresh")
    ingest(fresh, embedder, stories)
    want, got = fresh.snapshot(), moved.snapshot()
    assert [(u.story, u.paragraph, u.start) for u in got.units] == [(u.story, u.paragraph, u.start) for u in want.units]
    assert np.abs(np.asarray(got.vectors) - np.asarray(want.vectors)).max() < 1e-5
    assert np.abs(np.asarray(got.vectors) - np.asarray(old.snapshot().vectors)).max() > 1e-3


def test_verify_weights_names_a_missing_weights_file(tmp_path):
    with pytest.raises(ModelError, match="not found") as err:
        verify_weights(tmp_path)
    assert str(tmp_path / WEIGHTS_FILE) in str(err.value)
    with pytest.raises(ModelError, match="not found"):
        Embedder.load(tmp_path)


def test_verify_weights_refuses_a_different_file_naming_both_checksums(tmp_path):
    (tmp_path / WEIGHTS_FILE).write_bytes(b"not the MiniLM weights")
    import hashlib

    actual = hashlib.sha256(b"not the MiniLM weights").hexdigest()
    with pytest.raises(ModelError) as err:
        verify_weights(tmp_path)
    message = str(err.value)
    assert actual in message and "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db" in message
    assert "Refusing" in message
    with pytest.raises(ModelError, match="Refusing"):
        Embedder.load(tmp_path)


def test_vectors_viewed_inside_faiss_outlive_their_snapshot(tmp_path, embedder, fresh_index):
    import gc

    import numpy as np

    from index.vectors import stored_vectors

    ingest(Store.open(fresh_index), embedder, [load_story(REPO / "stories" / "met-police-safer-schools-officers.txt")])
    snap = Store.open(fresh_index).snapshot()
    expected = np.array(snap.vectors, copy=True)
    view = Store.open(fresh_index).snapshot().vectors  # its snapshot is dropped at once
    del snap
    gc.collect()
    churn = [np.random.default_rng(i).standard_normal(expected.shape).astype(np.float32) for i in range(8)]
    assert np.array_equal(view, expected), "the view read freed memory"
    del churn
    import faiss

    index = faiss.IndexFlatIP(4)
    index.add(np.eye(4, dtype=np.float32))
    kept = stored_vectors(index, np.arange(4))
    del index
    gc.collect()
    assert np.array_equal(kept, np.eye(4, dtype=np.float32))
