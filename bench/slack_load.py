"""Part ``slack``: the real HTTP app on loopback under 20 concurrent signed ``/story`` requests.

The app (``storydesk serve --http``: real uvicorn, in its own process) answers into the local stand-in for
Slack's Web API from ``tests/bot/slack_api_stub.py``. Measured: the HTTP ack latency, the time
until the answer reaches the ``response_url``, errors, and duplicate posts. The plain pipeline has
no chat surface, so there is no ratio here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from bench.common import ROOT, Results, Row, ensure_index, free_port, log, percentile, question_set, story_ids

SECRET = "bench-signing-secret-0123456789abcdef"
ERROR_REPLY = re.compile(r"Something went wrong \(ref [0-9A-F]+\)")
TOKEN = "xoxb-bench-token"
BIN = os.path.join(os.path.dirname(sys.executable), "storydesk")


def run(quick: bool, results: Results) -> list[Row]:
    import httpx

    sys.path.insert(0, str(ROOT / "tests" / "bot"))
    from slack_api_stub import TEAM_ID, SlackAPIStub, signed_headers

    n, concurrency = (100, 20) if quick else (500, 20)
    index = ensure_index(quick)
    pairs = question_set(story_ids(quick), n)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sent_at: dict[str, float] = {}
    acks: list[float] = []
    errors: list[str] = []
    with SlackAPIStub() as stub:
        # The server runs in its own process, as in production: the load generator and the Slack
        # stand-in must not share its interpreter (and its GIL).
        env = {**os.environ, "STORYDESK_INDEX": str(index), "SLACK_BOT_TOKEN": TOKEN,
               "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": stub.api_url, "SLACK_APP_TOKEN": "",
               "STORYDESK_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
        server_log = open(index.parent / "slack-server.log", "w")  # noqa: SIM115 - closed below
        proc = subprocess.Popen([BIN, "serve", "--http", "--host", "127.0.0.1", "--port", str(port)],
                                env=env, stdout=server_log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(url, proc)
            with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:
                def one(i: int) -> None:
                    _, question = pairs[i]
                    name = f"b{i}"
                    body = urlencode({
                        "token": "x", "team_id": TEAM_ID, "channel_id": "C0BENCH", "user_id": "U0BENCH",
                        "command": "/story", "text": question, "response_url": stub.response_url(name),
                        "trigger_id": f"{i}.t", "api_app_id": "A0STORYDESK",
                    })
                    headers = signed_headers(SECRET, body, content_type="application/x-www-form-urlencoded")
                    sent_at[name] = time.time()
                    t = time.perf_counter()
                    resp = client.post(f"{url}/slack/events", content=body.encode(), headers=headers)
                    acks.append((time.perf_counter() - t) * 1000)
                    if resp.status_code != 200:
                        errors.append(f"HTTP {resp.status_code}")

                log(f"slack: {n} signed /story requests, {concurrency} at a time")
                with ThreadPoolExecutor(concurrency) as pool:
                    list(pool.map(one, range(n)))
                try:
                    stub.wait_for(lambda r: r.method == "response_url", count=n, timeout=600)
                except AssertionError as exc:
                    errors.append(str(exc)[:200])
                time.sleep(1.0)  # let any duplicate post arrive before counting
                posts = stub.messages(lambda r: r.method == "response_url")
        finally:
            proc.terminate()
            proc.wait(30)
            server_log.close()

    by_name: dict[str, list[float]] = {}
    for r in posts:
        by_name.setdefault(r.path.rsplit("/", 1)[-1], []).append(r.at)
    duplicates = sum(len(v) - 1 for v in by_name.values())
    answered = [max(0.0, (min(v) - sent_at[k]) * 1000) for k, v in by_name.items() if k in sent_at]
    errors += [f"invalid reply: {r.problems}" for r in posts if r.problems]
    # The apology storydesk renders on a failure; archive stories themselves say "went wrong".
    errors += ["error reply"] * sum(bool(ERROR_REPLY.search(r.text)) for r in posts)
    results.update({
        "slack_requests": n,
        "slack_concurrency": concurrency,
        "slack_ack_p50_ms": round(percentile(acks, 50), 1),
        "slack_ack_p99_ms": round(percentile(acks, 99), 1),
        "slack_answer_p50_ms": round(percentile(answered, 50), 1) if answered else None,
        "slack_answer_p99_ms": round(percentile(answered, 99), 1) if answered else None,
        "slack_errors": len(errors),
        "slack_duplicates": duplicates,
        "slack_answers_posted": len(by_name),
        "slack_error_samples": sorted(set(errors))[:5],  # the server's log: <index>/../slack-server.log
    })
    return [
        Row("slack", f"ack p50 ({n} requests, {concurrency} concurrent)", percentile(acks, 50), "ms"),
        Row("slack", "ack p99", percentile(acks, 99), "ms", goal="<= 100 ms"),
        Row("slack", "answer posted p50", percentile(answered, 50) if answered else float("nan"), "ms"),
        Row("slack", "answer posted p99", percentile(answered, 99) if answered else float("nan"), "ms"),
        Row("slack", "errors", len(errors), "", goal="0"),
        Row("slack", "duplicate posts", duplicates, "", goal="0"),
    ]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 120) -> float:
    """Poll ``GET /healthz`` until it answers 200; the seconds it took."""
    import httpx

    t = time.perf_counter()
    while time.perf_counter() - t < timeout and proc.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return time.perf_counter() - t
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the server at {url} did not become healthy (exit code {proc.poll()})")
