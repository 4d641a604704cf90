"""The ``storydesk`` command line, run in-process: ask (--json, stdin), stories, show, ingest, remove.

Each test works on its own copy of the session's bundled index. ``Embedder.load`` is patched to
hand back the session's real model (already loaded) so the suite does not reload it per command;
everything else (index, search, rendering, exit codes) is the real code path.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.cli import main
from index.embed import Embedder, ModelInfo
from index.store import Store

STORY = "met-police-safer-schools-officers"
ANSWER_KEYS = {"question", "story", "found", "message", "answers"}
HIT_KEYS = {"story", "headline", "paragraph", "text", "excerpt", "speaker", "score"}


@pytest.fixture()
def loads(monkeypatch, embedder) -> list[int]:
    """Count model loads; each returns the session's real embedder."""
    calls: list[int] = []

    def load(cls, model_dir=None):
        calls.append(1)
        return embedder

    monkeypatch.setattr(Embedder, "load", classmethod(load))
    monkeypatch.delenv("STORYDESK_INDEX", raising=False)
    return calls


@pytest.fixture()
def index(tmp_path, bundled_index, loads) -> Path:
    """A private copy of the bundled index (the session one stays read-only)."""
    root = tmp_path / "index"
    shutil.copytree(bundled_index, root)
    return root


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def state(root: Path) -> tuple[int, list]:
    store = Store.open(root)
    return store.generation(), store.list_stories()


# --- ask -------------------------------------------------------------------------------------


def test_ask_json_is_exactly_one_object_of_the_documented_shape(capsys, index, loads):
    code, out, err = run(capsys, "ask", "--index", str(index), "--json",
                         "Who called the decision catastrophic?")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert set(obj) == ANSWER_KEYS
    assert obj["question"] == "Who called the decision catastrophic?"
    assert obj["story"] is None and obj["found"] is True and obj["message"] == ""
    assert len(obj["answers"]) == 3
    for a in obj["answers"]:
        assert set(a) >= HIT_KEYS
        assert a["story"] == STORY
        assert a["headline"] == "Headteacher slams Met Police decision to axe specialist school officers"
        assert isinstance(a["paragraph"], int) and 1 <= a["paragraph"] <= 25
        assert a["excerpt"] in a["text"]
        assert isinstance(a["score"], float)
        assert a["speaker"] is None or isinstance(a["speaker"], str)
    top = obj["answers"][0]
    assert top["paragraph"] in (2, 9) and top["speaker"] == "Jessica West"
    assert "catastrophic" in top["excerpt"]
    assert [a["score"] for a in obj["answers"]] == sorted((a["score"] for a in obj["answers"]), reverse=True)
    assert len(loads) == 1


def test_ask_json_story_scope_and_k(capsys, index):
    code, out, _ = run(capsys, "ask", "--index", str(index), "--json", "--story", STORY, "-k", "1",
                       "Who called the decision catastrophic?")
    obj = json.loads(out)
    assert code == 0 and obj["story"] == STORY and len(obj["answers"]) == 1
    assert obj["answers"][0]["paragraph"] in (2, 9) and obj["answers"][0]["speaker"] == "Jessica West"
    assert obj["answers"][0]["paragraphs"][-1] == obj["answers"][0]["paragraph"]


def test_ask_json_unanswerable_says_found_false_with_a_message(capsys, index):
    code, out, _ = run(capsys, "ask", "--index", str(index), "--json", "How much is a safer schools officer paid?")
    obj = json.loads(out)
    assert code == 0 and set(obj) == ANSWER_KEYS
    assert obj["found"] is False and obj["message"].startswith("The story doesn't say")


def test_ask_readable_answer_cites_paragraph_and_speaker(capsys, index):
    code, out, err = run(capsys, "ask", "--index", str(index), "What did Matt Cox tell the Assembly?")
    assert code == 0 and err == ""
    assert out.startswith("Q: What did Matt Cox tell the Assembly?")
    first = out.splitlines()[1]
    assert first.startswith("1. ¶16 ·") and f"[{STORY}]" in first
    assert "— Matt Cox" in out


def test_ask_stdin_answers_one_object_per_line_and_loads_the_model_once(capsys, index, loads, monkeypatch):
    questions = ["Who called the decision catastrophic?", "", "When did the Met scrap the role?",
                 "What did Boris Johnson say about school officers?"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(questions) + "\n"))
    code, out, err = run(capsys, "ask", "--index", str(index), "--json", "-")
    assert code == 0 and err == ""
    objs = [json.loads(line) for line in out.splitlines()]
    assert [o["question"] for o in objs] == [q for q in questions if q]
    assert all(set(o) == ANSWER_KEYS for o in objs)
    assert [o["found"] for o in objs] == [True, True, False]
    assert objs[1]["answers"][0]["paragraph"] == 4
    assert len(loads) == 1


def test_ask_stdin_bad_line_gets_an_error_object_and_exit_2(capsys, index, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("q" * 1001 + "\nWho leads policing in Enfield?\n"))
    code, out, _ = run(capsys, "ask", "--index", str(index), "--json", "-")
    assert code == 2
    bad, good = [json.loads(line) for line in out.splitlines()]
    assert "1,001 characters" in bad["error"]
    assert good["found"] is True and good["answers"][0]["paragraph"] == 22


@pytest.mark.parametrize("question,words", [("", "empty"), ("   ", "empty"), ("x" * 1001, "1,001 characters")])
def test_ask_bad_question_is_a_clear_error_before_the_model_loads(capsys, index, loads, question, words):
    code, out, err = run(capsys, "ask", "--index", str(index), "--json", question)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and words in err and len(err.splitlines()) == 1
    assert loads == []


def test_ask_unknown_story_is_a_clear_error(capsys, index):
    code, out, err = run(capsys, "ask", "--index", str(index), "--story", "nope", "Who?")
    assert code == 2 and out == "" and err.startswith("error: ") and "nope" in err


def test_ask_on_an_index_of_another_model_exits_1_with_the_reason(capsys, tmp_path, loads):
    root = tmp_path / "other"
    Store.open(root).write([], model=ModelInfo("sentence-transformers/all-mpnet-base-v2", "ab" * 32, 768))
    code, out, err = run(capsys, "ask", "--index", str(root), "Who called the decision catastrophic?")
    assert code == 1 and out == ""
    assert err.startswith("error: ") and "all-mpnet-base-v2" in err and "768-d" in err


# --- stories, show ---------------------------------------------------------------------------


def test_stories_lists_id_headline_byline_and_paragraphs(capsys, index):
    code, out, _ = run(capsys, "stories", "--index", str(index))
    assert code == 0
    assert out.split("\t")[:4] == [STORY, "Headteacher slams Met Police decision to axe specialist school officers",
                                   "Kumail Jaffer, Local Democracy Reporter", "25 paragraphs"]
    code, out, _ = run(capsys, "stories", "--index", str(index), "--json")
    [info] = json.loads(out)
    assert (info["id"], info["paragraphs"], info["byline"]) == (STORY, 25, "Kumail Jaffer, Local Democracy Reporter")


def test_show_prints_numbered_cleaned_story_and_what_was_dropped(capsys, index):
    code, out, _ = run(capsys, "show", "--index", str(index), STORY)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Headteacher slams Met Police decision to axe specialist school officers"
    assert lines[1] == "By Kumail Jaffer, Local Democracy Reporter"
    numbered = [line for line in lines if line.startswith("¶")]
    assert [line.split(" ", 1)[0] for line in numbered] == [f"¶{n}" for n in range(1, 26)]
    assert numbered[0].startswith("¶1 The Metropolitan Police’s decision")
    dropped_at = lines.index("Dropped by cleaning (12 blocks):")
    assert all(line.startswith("¶") is False for line in lines[dropped_at:])
    dropped = lines[dropped_at + 1:]
    assert dropped[0] == "  - News"
    assert "  - Donate now with Pay Pal" in dropped and "  - No news is bad news" in dropped
    assert not any("Donate" in line or "direct debit" in line for line in numbered)


def test_show_unknown_story_is_exit_2(capsys, index):
    code, out, err = run(capsys, "show", "--index", str(index), "nope")
    assert code == 2 and out == "" and err.startswith("error: ")


# --- ingest, remove --------------------------------------------------------------------------

STORY_TXT = """Zoo welcomes twin red panda cubs

Keepers at the city zoo say twin red panda cubs were born last month and are doing well.

The cubs will go on show to visitors in the autumn once they are old enough.
"""

STORY_MD = """# Market traders win *rent freeze*

Traders at Ridley Road market will pay no more rent for two years after the council agreed a freeze.
"""

STORY_HTML = """<html><head><title>Ferry service to start in June</title>
<meta name="author" content="Sam Ode"></head><body><nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Ferry service to start in June</h1>
<p>A temporary ferry will carry pedestrians across the Thames while Hammersmith Bridge is repaired,
the council said.</p>
<p>Tickets will cost £1.50 and boats will run every fifteen minutes at peak times.</p></article>
<footer>© 2024 Example News</footer></body></html>"""


def test_ingest_file_with_id_and_url_then_ask_it(capsys, index, tmp_path):
    src = tmp_path / "panda.txt"
    src.write_text(STORY_TXT)
    code, out, err = run(capsys, "ingest", "--index", str(index), "--id", "zoo-pandas",
                         "--url", "https://example.org/pandas", str(src))
    assert code == 0 and err == "" and "Indexed 1 new, 0 replaced, 0 unchanged" in out
    code, out, _ = run(capsys, "stories", "--index", str(index), "--json")
    by_id = {s["id"]: s for s in json.loads(out)}
    assert set(by_id) == {STORY, "zoo-pandas"}
    assert by_id["zoo-pandas"]["url"] == "https://example.org/pandas"
    code, out, _ = run(capsys, "ask", "--index", str(index), "--json", "How old are the red panda cubs?")
    obj = json.loads(out)
    assert obj["found"] and obj["answers"][0]["story"] == "zoo-pandas"
    assert obj["answers"][0]["url"] == "https://example.org/pandas"
    # Again, unchanged: nothing is rewritten.
    generation = Store.open(index).generation()
    code, out, _ = run(capsys, "ingest", "--index", str(index), "--id", "zoo-pandas",
                       "--url", "https://example.org/pandas", str(src))
    assert code == 0 and "0 new, 0 replaced, 1 unchanged" in out
    assert Store.open(index).generation() == generation


def test_ingest_a_folder_recursively_takes_every_format(capsys, index, tmp_path):
    folder = tmp_path / "inbox"
    (folder / "features" / "2024").mkdir(parents=True)
    (folder / "zoo.txt").write_text(STORY_TXT)
    (folder / "features" / "market.md").write_text(STORY_MD)
    (folder / "features" / "2024" / "ferry.html").write_text(STORY_HTML)
    (folder / "features" / "notes.json").write_text("{}")
    code, out, err = run(capsys, "ingest", "--index", str(index), str(folder))
    assert code == 0 and err == "" and "Indexed 3 new" in out
    infos = {s.id: s for s in Store.open(index).list_stories()}
    assert set(infos) == {STORY, "zoo", "market", "ferry"}
    assert infos["market"].headline == "Market traders win rent freeze"
    assert infos["ferry"].headline == "Ferry service to start in June" and infos["ferry"].byline == "Sam Ode"
    code, out, _ = run(capsys, "ask", "--index", str(index), "--json", "How much is a ferry ticket?")
    obj = json.loads(out)
    assert obj["found"] and obj["answers"][0]["story"] == "ferry" and "£1.50" in obj["answers"][0]["excerpt"]


def test_ingest_id_with_several_files_is_refused(capsys, index, tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.txt").write_text(STORY_TXT)
    before = state(index)
    code, _, err = run(capsys, "ingest", "--index", str(index), "--id", "x",
                       str(tmp_path / "a.txt"), str(tmp_path / "b.txt"))
    assert code == 2 and err.startswith("error: ") and "--id" in err
    assert state(index) == before


def _bad(tmp_path: Path, kind: str) -> Path:
    if kind == "empty":
        p = tmp_path / "empty.txt"
        p.write_bytes(b"")
    elif kind == "binary":
        p = tmp_path / "image.txt"
        p.write_bytes(b"GIF89a\x00\x01\x00\x01" + bytes(range(256)))
    elif kind == "non-utf8":
        p = tmp_path / "cp1252.txt"
        p.write_bytes("Caf\xe9 reopens\n\nThe caf\xe9 \x93on the corner\x94 reopened.\n".encode("latin-1"))
    elif kind == "50mb":
        p = tmp_path / "huge.txt"
        with p.open("wb") as fh:
            fh.write(b"Headline\n\nBody.\n")
            fh.truncate(50 * 1024 * 1024)
    elif kind == "no-stories-dir":
        p = tmp_path / "empty-dir"
        (p / "sub").mkdir(parents=True)
        (p / "sub" / "data.csv").write_text("a,b\n")
    elif kind == "suffix":
        p = tmp_path / "story.docx"
        p.write_text("Headline\n\nBody.\n")
    elif kind == "missing":
        p = tmp_path / "missing.txt"
    else:
        raise AssertionError(kind)
    return p


@pytest.mark.parametrize("kind,words", [
    ("empty", "empty"), ("binary", "binary"), ("non-utf8", "UTF-8"), ("50mb", "too large"),
    ("no-stories-dir", "no story files"), ("suffix", "unsupported file type"), ("missing", "no such file"),
])
def test_ingest_bad_input_exits_2_with_error_and_leaves_the_index_intact(capsys, index, tmp_path, loads, kind, words):
    before = state(index)
    bad = _bad(tmp_path, kind)
    code, out, err = run(capsys, "ingest", "--index", str(index), str(bad))
    assert code == 2
    assert err.startswith("error: ") and words in err
    assert "Indexed" not in out
    assert state(index) == before
    assert loads == []  # refused before the model is even loaded


def test_one_bad_file_stops_the_whole_ingest_unless_skip_bad(capsys, index, tmp_path):
    good = tmp_path / "zoo.txt"
    good.write_text(STORY_TXT)
    bad = _bad(tmp_path, "binary")
    before = state(index)
    code, out, err = run(capsys, "ingest", "--index", str(index), str(good), str(bad))
    assert code == 2 and "error: " in err and "Nothing was ingested" in err
    assert state(index) == before
    code, out, err = run(capsys, "ingest", "--index", str(index), "--skip-bad", str(good), str(bad))
    assert code == 2 and "binary" in err and "Indexed 1 new" in out
    assert [s.id for s in Store.open(index).list_stories()] == [STORY, "zoo"]


def test_remove_then_the_story_is_gone(capsys, index, tmp_path):
    src = tmp_path / "zoo.txt"
    src.write_text(STORY_TXT)
    run(capsys, "ingest", "--index", str(index), str(src))
    code, out, _ = run(capsys, "remove", "--index", str(index), "zoo")
    assert code == 0 and "Removed zoo" in out
    assert [s.id for s in Store.open(index).list_stories()] == [STORY]
    code, out, _ = run(capsys, "ask", "--index", str(index), "--json", "When were the panda cubs born?")
    assert all(a["story"] == STORY for a in json.loads(out)["answers"])


def test_remove_unknown_story_is_exit_2_and_changes_nothing(capsys, index):
    before = state(index)
    code, out, err = run(capsys, "remove", "--index", str(index), "nope")
    assert code == 2 and err.startswith("error: ") and "nope" in err
    assert state(index) == before


# --- careless and hostile input (issue #11) --------------------------------------------------

REPO = Path(__file__).resolve().parents[1]
STORYDESK = REPO / ".venv" / "bin" / "storydesk"


@pytest.mark.parametrize("question", ["???", "...", "a", "the of and", "\x01\x02\x03", "\x1b[2J\x1b[31m"])
def test_defect06_questions_with_no_words_are_refused_before_the_model_loads(capsys, index, loads, question):
    code, out, err = run(capsys, "ask", "--index", str(index), "--json", question)
    assert code == 2 and out == "" and err.startswith("error: The question")
    assert "\x1b" not in err  # an escape sequence never reaches the terminal
    assert loads == []


def test_defect07_the_same_story_id_twice_is_refused_before_any_work(capsys, index, tmp_path, loads):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same.txt").write_text(STORY_TXT)
    before = state(index)
    code, out, err = run(capsys, "ingest", "--index", str(index), str(tmp_path / "a"), str(tmp_path / "b"))
    assert code == 2 and "story id 'same' would come from 2 files" in err and "Traceback" not in err
    assert state(index) == before and loads == []
    # The same file named twice is one story, ingested once.
    same = str(tmp_path / "a" / "same.txt")
    code, out, err = run(capsys, "ingest", "--index", str(index), same, same)
    assert code == 0 and "Indexed 1 new, 0 replaced, 0 unchanged" in out


def test_defect08_leftover_temp_files_go_and_a_missing_vectors_file_comes_back(capsys, index, bundled_story):
    generation = Store.open(index).generation()
    vectors = index / f"vectors-{generation}.faiss"
    leftover = index / f"vectors-{generation + 1}.faiss.tmp"
    leftover.write_bytes(b"\0" * 4096)  # what a writer killed inside faiss.write_index leaves
    vectors.unlink()  # what a writer killed between commit and rename leaves
    code, out, _ = run(capsys, "ingest", "--index", str(index), str(bundled_story.source))
    assert code == 0 and "0 new, 0 replaced, 1 unchanged" in out
    assert not leftover.exists() and vectors.is_file()
    assert Store.open(index).generation() == generation  # restored, not rewritten as a new generation


def test_defect10_markdown_front_matter_fills_headline_byline_and_date(capsys, index, tmp_path):
    src = tmp_path / "bridge.md"
    src.write_text("---\ntitle: Bridge to close for repairs\nauthor: Jane Roe\ndate: 2024-05-01\n---\n\n"
                   "# Bridge to close for repairs\n\n"
                   "The council said on Monday that the bridge would close for six weeks of repairs.\n\n"
                   "Engineers found cracks in two of its supports, officials said.\n")
    code, out, err = run(capsys, "ingest", "--index", str(index), str(src))
    assert code == 0, err
    code, out, _ = run(capsys, "stories", "--index", str(index), "--json")
    [info] = [s for s in json.loads(out) if s["id"] == "bridge"]
    assert (info["headline"], info["byline"], info["date"]) == ("Bridge to close for repairs", "Jane Roe", "2024-05-01")
    assert info["paragraphs"] == 2
    code, out, _ = run(capsys, "show", "--index", str(index), "bridge")
    assert "title:" not in out
    first = next(line for line in out.splitlines() if line.lstrip().startswith("¶1"))
    assert "The council said on Monday" in first


def test_utf16_files_are_decoded(capsys, index, tmp_path):
    src = tmp_path / "zoo16.txt"
    src.write_bytes(STORY_TXT.encode("utf-16"))
    code, out, err = run(capsys, "ingest", "--index", str(index), str(src))
    assert code == 0 and "Indexed 1 new" in out, err
    assert "zoo16" in {s.id for s in Store.open(index).list_stories()}


@pytest.mark.parametrize("words", ["", "   ", '""', "word " * 61])
def test_check_refuses_empty_or_long_words_before_the_model_loads(capsys, index, loads, words):
    code, out, err = run(capsys, "check", "--index", str(index), words)
    assert code == 2 and out == "" and err.startswith("error: ")
    assert loads == []


@pytest.mark.parametrize("k", ["0", "-5", "21", "three"])
def test_k_out_of_range_is_a_clear_error(capsys, index, loads, k):
    with pytest.raises(SystemExit) as exit_:
        main(["ask", "--index", str(index), "-k", k, "Who called the decision catastrophic?"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "from 1 to 20" in err and loads == []


def test_escape_sequences_from_a_story_never_reach_the_terminal(capsys, index, tmp_path):
    src = tmp_path / "esc.txt"
    src.write_text("Council \x1b]0;pwned\x07 meets\n\nThe council met on Monday \x1b[2J to discuss the budget.\n")
    run(capsys, "ingest", "--index", str(index), str(src))
    for argv in (("show", "esc"), ("stories",), ("check", "met on Monday")):
        code, out, err = run(capsys, argv[0], "--index", str(index), *argv[1:])
        assert "\x1b" not in out and "\x07" not in out and "\x1b" not in err


def test_piping_into_head_prints_no_broken_pipe_traceback(index):
    questions = "\n".join(["Who called the decision catastrophic?"] * 400)
    done = subprocess.run(f"{STORYDESK} ask --json - | head -n 1", shell=True, input=questions,
                          capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "STORYDESK_INDEX": str(index)})
    assert done.stdout.count("\n") == 1 and json.loads(done.stdout)["found"] is True
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr


def test_concurrent_ingests_skip_what_the_other_committed(index, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i, animal in enumerate(["otters", "lemurs", "tapirs", "okapis"]):
        (inbox / f"{animal}.txt").write_text(STORY_TXT.replace("red panda", animal).replace("twin", f"{i + 2}"))
    env = {**os.environ, "STORYDESK_INDEX": str(index)}
    procs = [subprocess.Popen([str(STORYDESK), "ingest", str(inbox)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    added = [int(re.search(r"Indexed (\d+) new", out).group(1)) for out, _ in outs]
    assert sorted(added) == [0, 4]  # one did the work; the other found it committed
    assert len(Store.open(index).list_stories()) == 5
