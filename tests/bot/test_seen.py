"""Each event is answered once, across threads, processes and restarts (SQLite beside the index)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from bot.seen import EventClaims, SeenKeys

REPO = Path(__file__).resolve().parents[2]


def test_first_claim_wins_and_a_second_instance_on_the_same_file_sees_it(tmp_path):
    first = SeenKeys.in_folder(tmp_path)
    assert first.claim("event:Ev1") is True
    assert first.claim("event:Ev1") is False
    restarted = SeenKeys.in_folder(tmp_path)  # a new process after a restart
    assert restarted.claim("event:Ev1") is False
    assert restarted.claim("event:Ev2") is True
    first.close()
    restarted.close()


def test_another_process_cannot_claim_the_same_event(tmp_path):
    mine = SeenKeys.in_folder(tmp_path)
    assert mine.claim("event:EvShared")
    code = (f"import sys; sys.path.insert(0, {str(REPO)!r}); from bot.seen import SeenKeys; "
            f"s = SeenKeys.in_folder({str(tmp_path)!r}); "
            "print(s.claim('event:EvShared'), s.claim('event:EvOther'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]
    mine.close()


def race_for_one_key(a: EventClaims, b: EventClaims) -> int:
    """16 threads, 8 on each of two claim sets, race to claim one key; how many won."""
    wins: list[bool] = []
    lock = threading.Lock()

    def race(seen: EventClaims) -> None:
        won = seen.claim("event:EvRace")
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=race, args=(s,)) for s in (a, b) * 8]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 16
    return wins.count(True)


def test_many_threads_racing_for_one_key_produce_one_winner(tmp_path):
    a, b = SeenKeys.in_folder(tmp_path), SeenKeys.in_folder(tmp_path)
    assert race_for_one_key(a, b) == 1
    a.close()
    b.close()


def test_keys_expire_after_the_ttl(tmp_path):
    seen = SeenKeys(tmp_path / "seen.sqlite", ttl=0.0)
    assert seen.claim("event:Ev1")
    assert seen.claim("event:Ev1")  # expired at once with a zero TTL
    memory = SeenKeys()
    assert memory.claim("k") and not memory.claim("k")
    seen.close()
    memory.close()
