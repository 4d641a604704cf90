"""Part ``cold``: process start to first answer, process start to ``/healthz`` ready, RSS serving.

storydesk: ``storydesk ask`` in a new process against the benchmark archive index, and
``storydesk serve --http`` until ``GET /healthz`` answers 200, then 30 answered ``/story`` requests
before its RSS is read (sampled every 20 ms during those requests for the peak, then once the
server is idle, having given free memory back). Plain: ``python -m bench.plain`` (load the model
and the saved vectors, answer).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode

from bench.common import ROOT, Results, Row, cache_dir, ensure_index, free_port, log, question_set, rss_mb, story_ids

QUESTION = "Who called the decision catastrophic?"
SECRET = "bench-signing-secret-0123456789abcdef"
TOKEN = "xoxb-bench-token"
BIN = os.path.join(os.path.dirname(sys.executable), "storydesk")


def _wall(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


class _PeakRss:
    """The highest RSS of process ``pid``, sampled every 20 ms from a thread until :meth:`stop`."""

    def __init__(self, pid: int) -> None:
        self._pid, self._peak, self._done = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            self._peak = max(self._peak, rss_mb(self._pid))

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return max(self._peak, rss_mb(self._pid))


def run(quick: bool, results: Results) -> list[Row]:
    import httpx

    sys.path.insert(0, str(ROOT / "tests" / "bot"))
    from slack_api_stub import TEAM_ID, SlackAPIStub, signed_headers

    index = ensure_index(quick)
    env = {**os.environ, "STORYDESK_INDEX": str(index), "PYTHONPATH": str(ROOT)}
    log("cold: storydesk ask in a new process")
    ask_s = min(_wall([BIN, "ask", QUESTION], env) for _ in range(2))
    plain_s = float("nan")
    vectors = cache_dir(quick) / "plain_vectors.npy"
    if vectors.exists():
        plain_s = min(_wall([sys.executable, "-m", "bench.plain", str(vectors), QUESTION], env) for _ in range(2))

    log("cold: storydesk serve --http until /healthz is ready")
    port = free_port()
    with SlackAPIStub() as stub:
        serve_env = {**env, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
                     "SLACK_API_URL": stub.api_url, "SLACK_APP_TOKEN": "", "STORYDESK_LOG_LEVEL": "WARNING"}
        t = time.perf_counter()
        proc = subprocess.Popen([BIN, "serve", "--http", "--host", "127.0.0.1", "--port", str(port)],
                                env=serve_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ready_s = float("nan")
        try:
            deadline = time.perf_counter() + 120
            while time.perf_counter() < deadline and proc.poll() is None:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        ready_s = time.perf_counter() - t
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
            pairs = question_set(story_ids(quick), 30)
            peak = _PeakRss(proc.pid)  # during the burst: the server gives memory back once idle
            for i, (_, q) in enumerate(pairs):
                body = urlencode({"team_id": TEAM_ID, "channel_id": "C0COLD", "user_id": "U0COLD",
                                  "command": "/story", "text": q, "response_url": stub.response_url(f"c{i}"),
                                  "trigger_id": f"{i}.t"})
                httpx.post(f"http://127.0.0.1:{port}/slack/events", content=body.encode(), timeout=30,
                           headers=signed_headers(SECRET, body, content_type="application/x-www-form-urlencoded"))
            stub.wait_for(lambda r: r.method == "response_url", count=len(pairs), timeout=120)
            peak_mb = peak.stop()
            time.sleep(0.5)  # the answer worker's idle hook (bot/allocator.py) has run
            serving_mb = rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)
    results.update({"cold_start_s": round(ask_s, 2), "plain_cold_start_s": round(plain_s, 2),
                    "healthz_ready_s": round(ready_s, 2), "rss_mb_serving": round(serving_mb, 1),
                    "rss_mb_serving_peak": round(peak_mb, 1)})
    return [
        Row("cold", "process start to first answer (storydesk ask)", ask_s, "s", plain_s, "<= 10 s"),
        Row("cold", "process start to /healthz ready", ready_s, "s", goal="<= 10 s"),
        Row("cold", "RSS while serving the archive (idle after 30 answers)", serving_mb, "MB", goal="<= 700 MB"),
        Row("cold", "RSS while serving: peak during the 30 questions", peak_mb, "MB", goal="<= 700 MB"),
    ]
