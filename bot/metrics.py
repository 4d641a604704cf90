"""What ``GET /metrics`` reports, in Prometheus' text format: is the bot used, and is it right?

prometheus-client (the Prometheus project's own library) does the counting and the exposition
format. Each app gets its own :class:`~prometheus_client.CollectorRegistry` (never the global
one), so two servers in one process, or two tests, never see each other's counts.

>>> metrics = Metrics(desk)
>>> metrics.questions.labels(surface="slack", outcome="answered").inc()
>>> body, content_type = metrics.exposition()

Series (all prefixed ``storydesk_``):

- ``questions_total{surface, outcome}``: chat questions; outcome is ``answered``, ``declined`` (the
  story doesn't say), ``refused`` (input to fix: too long, no words, unknown story) or ``error``.
- ``answer_seconds{surface}``: histogram of the time from a question to its answer.
- ``commands_total{surface, command}``: every chat command run.
- ``feedback_total{choice}``: 👍 / 👎 clicks and the reasons given after 👎.
- ``stories``: stories on the desk, read when scraped.
- ``ingests_total{result}`` (added / replaced / unchanged / failed), ``fetch_failures_total{reason}``
  and ``feed_lag_seconds{feed}`` (time since a followed feed last answered): for the fetching and
  feed-following code to update.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

# A search takes tens of milliseconds; the tail is the model warming up or a queue behind a check.
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
OUTCOMES = ("answered", "declined", "refused", "error")


class Metrics:
    """The counters of one running app, in their own registry."""

    def __init__(self, desk: Any = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.questions = Counter("storydesk_questions", "Chat questions, by surface and outcome",
                                 ["surface", "outcome"], registry=r)
        self.answer_seconds = Histogram("storydesk_answer_seconds", "Time from a chat question to its answer",
                                        ["surface"], buckets=LATENCY_BUCKETS, registry=r)
        self.commands = Counter("storydesk_commands", "Chat commands run, by surface and command",
                                ["surface", "command"], registry=r)
        self.feedback = Counter("storydesk_feedback", "Feedback clicks on answers, by choice", ["choice"], registry=r)
        self.stories = Gauge("storydesk_stories", "Stories on the desk", registry=r)
        self.ingests = Counter("storydesk_ingests", "Stories ingested, by result (added, replaced, unchanged, failed)",
                               ["result"], registry=r)
        self.fetch_failures = Counter("storydesk_fetch_failures", "Failed fetches of story pages or feeds, by reason",
                                      ["reason"], registry=r)
        self.feed_lag = Gauge("storydesk_feed_lag_seconds", "Seconds since a followed feed was last read",
                              ["feed"], registry=r)
        if desk is not None:
            self.stories.set_function(lambda: _story_count(desk))

    def exposition(self) -> tuple[bytes, str]:
        """The registry in Prometheus' text format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _story_count(desk: Any) -> float:
    try:
        return float(len(desk.stories()))
    except Exception:  # a broken index shows as NaN here and as not ready in /healthz; scraping goes on
        log.warning("metrics: could not count the stories", exc_info=True)
        return math.nan
