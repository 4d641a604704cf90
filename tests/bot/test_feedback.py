"""The feedback store (real SQLite in a temporary index folder), its export in the reader's
training format (read back with training/data.py's own reader), and ``storydesk feedback``.

Chat clicks are driven end to end in test_slack_http.py and test_discord_http.py.
"""

from __future__ import annotations

import hashlib
import json
import stat
from datetime import UTC, datetime

import pytest

from bot.answer import Answer
from bot.cli import main
from bot.feedback import KEY_FILENAME, FeedbackStore, UnknownAnswer, training_rows
from index.models import Hit
from training.data import read_questions

STORY = "met-police-safer-schools-officers"
COX = "What did Matt Cox tell the Assembly?"
COX_EXCERPT = "Superintendent Matt Cox told the London Assembly: “This is about embedding the 371 school officers”"


def answer(question: str = COX, *, found: bool = True) -> Answer:
    hits = (Hit(STORY, "Headteacher slams Met Police decision", 16, "The whole paragraph. " + COX_EXCERPT,
                COX_EXCERPT, 0.7, "Matt Cox", "Superintendent"),
            Hit(STORY, "Headteacher slams Met Police decision", 9, "Another paragraph.", "Another paragraph.", 0.4))
    return Answer(question, None, found, "" if found else "The story doesn't say.", hits)


@pytest.fixture()
def store(tmp_path):
    store = FeedbackStore.in_folder(tmp_path / "index")
    yield store
    store.close()


def test_one_vote_per_user_per_answer_and_clicking_again_changes_it(store):
    answer_id = store.remember(answer(), "slack")
    store.record(answer_id, "down", surface="slack", user="U0REPORTER")
    store.record(answer_id, "wrong_speaker", surface="slack", user="U0REPORTER")
    store.record(answer_id, "up", surface="discord", user="4400")
    [first, second] = store.votes()
    assert (first.choice, second.choice) == ("wrong_speaker", "up")
    assert first.question == COX and first.shown[0].paragraphs == (16,) and first.shown[0].excerpt == COX_EXCERPT
    assert len({first.user_hash, second.user_hash}) == 2


def test_user_ids_are_stored_only_as_a_keyed_hash(store, tmp_path):
    answer_id = store.remember(answer(), "slack")
    vote = store.record(answer_id, "up", surface="slack", user="U0REPORTER")
    raw = (tmp_path / "index" / "feedback.sqlite").read_bytes()
    assert b"U0REPORTER" not in raw
    # Hashing a list of ids without the key finds nothing.
    unkeyed = {hashlib.sha256(s.encode()).hexdigest()[:32] for s in ("U0REPORTER", "slack:U0REPORTER")}
    assert vote.user_hash not in unkeyed
    assert stat.S_IMODE((tmp_path / "index" / KEY_FILENAME).stat().st_mode) == 0o600
    again = FeedbackStore.in_folder(tmp_path / "index")  # another process: same key, same pseudonym
    assert again.user_hash("slack", "U0REPORTER") == vote.user_hash
    assert FeedbackStore(key=b"another key").user_hash("slack", "U0REPORTER") != vote.user_hash
    again.close()


def test_forged_answers_and_choices_write_nothing(store):
    answer_id = store.remember(answer(), "slack")
    with pytest.raises(UnknownAnswer):
        store.record("made-up-id", "up", surface="slack", user="U1")
    with pytest.raises(ValueError):
        store.record(answer_id, "'; DROP TABLE votes; --", surface="slack", user="U1")
    assert store.votes() == []


def test_export_is_the_readers_training_format(store, tmp_path):
    votes = {"up": answer(), "doesnt_say": answer("How much did it cost?"),
             "wrong_passage": answer("Who decided?"), "other": answer("When?")}
    for choice, shown in votes.items():
        store.record(store.remember(shown, "slack"), choice, surface="slack", user="U1")
    store.record(store.remember(answer("What is the weather?", found=False), "discord"), "up",
                 surface="discord", user="U2")
    rows, skipped = training_rows(store.votes())
    assert skipped == 2  # wrong passage and other name no right answer
    out = tmp_path / "feedback.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert read_questions([out]) == [
        {"story": STORY, "question": COX, "gold": [COX_EXCERPT], "kind": "feedback", "writer": "feedback"},
        {"story": STORY, "question": "How much did it cost?", "gold": [], "kind": "negative", "expect": "none",
         "writer": "feedback"},
        {"story": STORY, "question": "What is the weather?", "gold": [], "kind": "negative", "expect": "none",
         "writer": "feedback"},
    ]


def test_cli_lists_and_exports(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("STORYDESK_INDEX", raising=False)
    index = tmp_path / "index"
    assert main(["feedback", "--index", str(index)]) == 0
    assert "No feedback yet." in capsys.readouterr().out
    store = FeedbackStore.in_folder(index)
    store.record(store.remember(answer(), "slack"), "doesnt_say", surface="slack", user="U1")
    store.close()

    assert main(["feedback", "--index", str(index)]) == 0
    listed = capsys.readouterr().out
    assert "should have said the story doesn't say" in listed and COX in listed and f"{STORY} ¶16" in listed
    assert main(["feedback", "--index", str(index), "--json"]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["choice"] == "doesnt_say" and row["shown"][0]["paragraphs"] == [16] and "U1" not in json.dumps(row)
    tomorrow = datetime.fromtimestamp(row["at"] + 86400, UTC).date().isoformat()
    assert main(["feedback", "--index", str(index), "--json", "--since", tomorrow]) == 0
    assert capsys.readouterr().out == ""

    out = tmp_path / "train.jsonl"
    assert main(["feedback", "export", "--index", str(index), "--out", str(out)]) == 0
    assert "1 training rows from 1 votes" in capsys.readouterr().err
    assert [r["kind"] for r in read_questions([out])] == ["negative"]
    with pytest.raises(SystemExit):
        main(["feedback", "--since", "last tuesday"])
    assert "must be a date" in capsys.readouterr().err
