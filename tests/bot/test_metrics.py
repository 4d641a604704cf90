"""``GET /metrics`` on the real HTTP app, parsed with prometheus-client's own parser, moving as
signed Slack and Discord requests come in; the Socket Mode health app; JSON log lines with the ref.
"""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from nacl.signing import SigningKey
from prometheus_client.parser import text_string_to_metric_families
from slack_api_stub import TEAM_ID, SlackAPIStub, running, signed_headers

from bot import render_slack
from bot.bindings import Bindings
from bot.commands import Commands, Failure, Request
from bot.server import JsonLines, create_health_app, create_http_app
from bot.settings import Settings

SECRET = "metrics-test-signing-secret-0123456789"
COX = "What did Matt Cox tell the Assembly?"


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics``, by name and labels, read by prometheus-client's parser."""
    response = httpx.get(url + "/metrics", timeout=30)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(scope="module")
def env(desk, settings, tmp_path_factory):
    key = SigningKey.generate()
    folder = tmp_path_factory.mktemp("metrics")
    with SlackAPIStub() as slack:
        app_settings = replace(settings, slack_bot_token="xoxb-metrics", slack_signing_secret=SECRET,
                               slack_api_url=slack.api_url, discord_application_id="1",
                               discord_public_key=key.verify_key.encode().hex())
        app = create_http_app(desk, app_settings, Bindings.in_folder(folder))
        with running(app) as url:
            yield url, slack, key, app
        app.state.slack.close()


def slash(url: str, slack: SlackAPIStub, text: str, name: str) -> None:
    body = urlencode({"team_id": TEAM_ID, "channel_id": "C0METRICS", "user_id": "U0REPORTER", "command": "/story",
                      "text": text, "response_url": slack.response_url(name), "trigger_id": f"{uuid.uuid4()}.t"})
    headers = signed_headers(SECRET, body, content_type="application/x-www-form-urlencoded")
    assert httpx.post(url + "/slack/events", content=body.encode(), headers=headers, timeout=30).status_code == 200


def share(url: str, slack: SlackAPIStub, button: dict[str, Any], name: str) -> None:
    payload = {"type": "block_actions", "user": {"id": "U0REPORTER"}, "team": {"id": TEAM_ID},
               "container": {"type": "message", "is_ephemeral": True}, "response_url": slack.response_url(name),
               "actions": [{"action_id": button["action_id"], "value": button["value"], "type": "button"}]}
    body = urlencode({"payload": json.dumps(payload)})
    headers = signed_headers(SECRET, body, content_type="application/x-www-form-urlencoded")
    assert httpx.post(url + "/slack/events", content=body.encode(), headers=headers, timeout=30).status_code == 200


def discord(url: str, key: SigningKey, payload: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    ts = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Signature-Timestamp": ts,
               "X-Signature-Ed25519": key.sign(ts.encode() + body).signature.hex()}
    response = httpx.post(url + "/discord/interactions", content=body, headers=headers, timeout=60)
    assert response.status_code == 200
    return response.json()


def ask(question: str) -> dict[str, Any]:
    return {"type": 2, "id": "1", "application_id": "1", "token": "t", "channel_id": "22",
            "member": {"user": {"id": "44"}, "permissions": "0"},
            "data": {"name": "story", "options": [{"name": "ask", "type": 1, "options": [
                {"name": "question", "type": 3, "value": question}]}]}}


def test_metrics_parse_and_move_as_requests_come_in(env):
    url, slack, key, app = env
    before = scrape(url)
    assert value(before, "storydesk_stories") == 1.0  # read from the desk when scraped
    slash(url, slack, COX, "answered")
    slash(url, slack, "What is the weather like on Mars this week?", "declined")
    slash(url, slack, "the of and", "refused")
    [answer] = slack.wait_for(lambda r: r.path.endswith("/answered"))
    slack.wait_for(lambda r: r.path.endswith("/declined"))
    slack.wait_for(lambda r: r.path.endswith("/refused"))
    share(url, slack, answer.buttons[render_slack.SHARE_ACTION], "shared")  # the same question: not counted again
    slack.wait_for(lambda r: r.path.endswith("/shared"), count=2)
    reply = discord(url, key, ask(COX))
    custom_id = reply["data"]["components"][0]["components"][1]["custom_id"]  # 👎
    discord(url, key, {**ask(COX), "type": 3, "data": {"custom_id": custom_id}})
    assert app.state.slack.wait_idle(30)

    after = scrape(url)
    for outcome in ("answered", "declined", "refused"):
        assert value(after, "storydesk_questions_total", surface="slack", outcome=outcome) == \
            value(before, "storydesk_questions_total", surface="slack", outcome=outcome) + 1
    assert value(after, "storydesk_questions_total", surface="discord", outcome="answered") == 1
    assert value(after, "storydesk_answer_seconds_count", surface="slack") == 3
    assert value(after, "storydesk_answer_seconds_bucket", surface="slack", le="+Inf") == 3
    assert value(after, "storydesk_feedback_total", choice="down") == 1
    assert value(after, "storydesk_commands_total", surface="discord", command="feedback") == 1
    assert render_slack.FEEDBACK_ACTION_PREFIX + "up" in answer.buttons
    # Declared for the fetching and feed-following code, which counts into app.state.metrics.
    app.state.metrics.ingests.labels(result="added").inc()
    app.state.metrics.feed_lag.labels(feed="https://example.test/feed").set(42)
    families = {f.name for f in text_string_to_metric_families(httpx.get(url + "/metrics").text)}
    assert {"storydesk_ingests", "storydesk_fetch_failures", "storydesk_feed_lag_seconds"} <= families


def test_each_app_counts_on_its_own_and_socket_mode_serves_metrics_beside_healthz(desk, env):
    url, *_ = env
    with running(create_health_app(desk)) as health:
        assert httpx.get(health + "/healthz", timeout=30).status_code == 200
        samples = scrape(health)
    assert value(samples, "storydesk_stories") == 1.0
    assert not [k for k in samples if k[0] == "storydesk_questions_total"]  # nothing counted here yet
    assert value(scrape(url), "storydesk_questions_total", surface="slack", outcome="answered") >= 1


class Broken:
    def stories(self) -> list:
        raise RuntimeError("index on fire")

    def ask(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("index on fire")


def test_json_log_lines_carry_the_ref_the_user_saw(tmp_path):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    logger = logging.getLogger("bot.commands")
    logger.addHandler(handler)
    try:
        result = Commands(Broken(), Bindings.in_folder(tmp_path)).run(Request("ask", COX, surface="slack"))
    finally:
        logger.removeHandler(handler)
    assert isinstance(result, Failure)
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["ref"] == result.ref and line["level"] == "ERROR" and line["logger"] == "bot.commands"
    assert "index on fire" in line["traceback"] and line["time"].endswith("Z")
    assert Settings.from_env({"STORYDESK_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ValueError, match="STORYDESK_LOG_FORMAT"):
        Settings.from_env({"STORYDESK_LOG_FORMAT": "xml"})
