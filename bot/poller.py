"""Poll the followed feeds in the background of ``storydesk serve``: new articles are added, updated
ones re-indexed, and a feed that fails is retried with backoff and reported in ``/healthz``.

One daemon thread, woken every :data:`TICK_S` (so a feed just followed, from any process, is
read within that) to poll the feeds that are due: every ``STORYDESK_FOLLOW_MINUTES`` after a
good poll; after a failure 1, 4, 16 ... minutes (at most 6 hours) later. Feeds are fetched
conditionally (ETag / If-Modified-Since), and an article is fetched only when its link is new or
its stamp in the feed changed. Every fetch goes through :func:`index.fetch.fetch`.

Answers keep flowing while it works: the shared model is locked per batch of 32 sentences
(:meth:`index.embed.Embedder.encode`), so a question waits at most one batch, and the search
state of the new generation is built on this thread right after the write, before a question
needs it. Nothing a feed does can stop
the thread or the server: every error becomes the feed's failure, logged on one line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.follows import FollowedFeed, Follows, open_follows
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.metrics import Metrics
from index.embed import Embedder
from index.feeds import FeedEntry, FeedError, fetch_feed
from index.fetch import FetchError, FetchPolicy
from index.indexer import ingest
from index.ingest import IngestError
from index.models import Story
from index.pages import desk_links, load_page, outcome
from index.store import IndexStore

log = logging.getLogger(__name__)

TICK_S = 30.0
RETRY_FIRST_S = 60.0
RETRY_MAX_S = 6 * 3600.0


def failure_reason(exc: Exception) -> str:
    """A short label for why a fetch or a page failed, for ``fetch_failures_total{reason}``."""
    if isinstance(exc, FetchError):
        return exc.reason
    if isinstance(exc, FeedError):
        return "not_a_feed"
    return "no_article_text" if isinstance(exc, IngestError) else "error"


def retry_delay(failures: int) -> float:
    """Seconds before polling a feed again after ``failures`` failures in a row."""
    return min(RETRY_FIRST_S * 4 ** max(failures - 1, 0), RETRY_MAX_S)


def next_poll(feed: FollowedFeed, every_s: float) -> float:
    """When ``feed`` is next due (Unix seconds); a feed never checked is due at once."""
    if not feed.checked_at:
        return 0.0
    return feed.checked_at + (retry_delay(feed.failures) if feed.failures else every_s)


@dataclass
class PollReport:
    """What one poll of one feed did."""

    url: str
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # article links that could not be read
    failed_reasons: list[str] = field(default_factory=list)  # and why, as metric labels
    not_modified: bool = False
    error: str = ""  # the feed itself failed


class FeedPoller:
    """Polls ``follows`` into ``store``. ``after_ingest`` runs after each write (the desk warms its state)."""

    def __init__(self, follows: Follows, store: IndexStore, embedder: Embedder, policy: FetchPolicy, *,
                 every_s: float, after_ingest: Callable[[], Any] | None = None,
                 clock: Callable[[], float] = time.time, metrics: Metrics | None = None) -> None:
        self.follows = follows
        self.store = store
        self.embedder = embedder
        self.policy = policy
        self.every_s = every_s
        self.after_ingest = after_ingest
        self.clock = clock
        self.metrics = metrics
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rounds = 0
        self._round_done = threading.Condition()

    # --- one poll ------------------------------------------------------------------------

    def poll(self, url: str) -> PollReport:
        """Poll one feed now. Never raises for anything the feed or its pages do."""
        report = PollReport(url)
        feed = self.follows.get(url)
        if feed is None:
            report.error = "not followed"
            return report
        now = self.clock()
        reason = ""
        try:
            self._poll(feed, report)
        except (FetchError, IngestError) as exc:
            report.error, reason = str(exc), failure_reason(exc)
        except Exception as exc:  # a feed must never take the poller down; one line, no traceback
            report.error, reason = f"unexpected {type(exc).__name__}: {str(exc)[:200]}", "error"
        if report.error:
            self.follows.record_failure(url, report.error, at=now)
            log.warning("feed %s failed (%d in a row): %s", url, feed.failures + 1, report.error)
        self._count(report, reason)
        return report

    def _count(self, report: PollReport, reason: str) -> None:
        """Into /metrics: stories by result, failed fetches by reason, and the feed's lag."""
        if self.metrics is None:
            return
        for result in ("added", "replaced", "unchanged", "failed"):
            if getattr(report, result):
                self.metrics.ingests.labels(result=result).inc(len(getattr(report, result)))
        for why in ([reason] if reason else []) + report.failed_reasons:
            self.metrics.fetch_failures.labels(reason=why).inc()
        feed = self.follows.get(report.url)
        if feed is not None:
            self.metrics.feed_lag.labels(feed=report.url).set(self.clock() - (feed.ok_at or feed.added_at))

    def _poll(self, feed: FollowedFeed, report: PollReport) -> None:
        fetched = fetch_feed(feed.url, self.policy, etag=feed.etag, last_modified=feed.last_modified)
        if not fetched.not_modified:
            self._read_entries(feed, fetched.entries, report)
        else:
            report.not_modified = True
        self.follows.record_success(feed.url, etag=fetched.etag, last_modified=fetched.last_modified, at=self.clock())
        log.info("feed %s: %d new, %d replaced, %d unchanged, %d failed%s", feed.url, len(report.added),
                 len(report.replaced), len(report.unchanged), len(report.failed),
                 " (not modified)" if report.not_modified else "")

    def _read_entries(self, feed: FollowedFeed, entries: tuple[FeedEntry, ...], report: PollReport) -> None:
        stamps = self.follows.entry_stamps(feed.url)
        taken = desk_links(self.store)
        stories: dict[str, Story] = {}
        handled: dict[str, str] = {}
        for entry in entries:
            if entry.link in stamps and stamps[entry.link] == entry.stamp:
                continue
            try:
                story = load_page(entry.link, self.policy, taken=taken)
                taken[story.id] = story.url
                stories.setdefault(story.id, story)
            except (FetchError, IngestError) as exc:
                # Remembered all the same: a page that is not an article stays skipped until the feed updates it.
                report.failed.append(f"{entry.link}: {exc}")
                report.failed_reasons.append(failure_reason(exc))
                log.info("feed %s: skipped %s: %s", feed.url, entry.link, exc)
            handled[entry.link] = entry.stamp
            if self._stop.is_set():
                break
        if stories:
            result = ingest(self.store, self.embedder, list(stories.values()))
            for sid in stories:
                getattr(report, outcome(result, sid)).append(sid)
            if self.after_ingest is not None:
                self.after_ingest()
        self.follows.remember_entries(feed.url, handled)

    def poll_due(self) -> list[PollReport]:
        """Poll every feed whose time has come."""
        now = self.clock()
        reports = []
        for feed in self.follows.list():
            if self._stop.is_set():
                break
            if next_poll(feed, self.every_s) <= now:
                reports.append(self.poll(feed.url))
        return reports

    # --- the thread ----------------------------------------------------------------------

    def start(self) -> FeedPoller:
        self._thread = threading.Thread(target=self._run, name="storydesk-feeds", daemon=True)
        self._thread.start()
        return self

    def wait_rounds(self, rounds: int, timeout: float) -> bool:
        """Wait until the thread has looked for due feeds ``rounds`` times (tests; a shutdown that drains)."""
        with self._round_done:
            return self._round_done.wait_for(lambda: self._rounds >= rounds, timeout)

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_due()
            except Exception as exc:  # the follows file itself failing: say so, keep the server up
                log.error("feed polling failed: %s: %s", type(exc).__name__, str(exc)[:200])
            with self._round_done:
                self._rounds += 1
                self._round_done.notify_all()
            self._wake.wait(min(TICK_S, self.every_s))
            self._wake.clear()

    # --- /healthz ------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Followed feeds, the failing ones with their error and retry time, and the worst lag."""
        now = self.clock()
        feeds = self.follows.list()
        failing = [{"url": f.url, "error": f.last_error, "failures": f.failures,
                    "retry_in_s": round(max(0.0, next_poll(f, self.every_s) - now))} for f in feeds if f.failures]
        lags = [now - (f.ok_at or f.added_at) for f in feeds]
        return {"followed": len(feeds), "failing": failing, "max_lag_s": round(max(lags, default=0.0))}


def start_poller(desk: Any, settings: Settings, metrics: Metrics | None = None) -> FeedPoller:
    """The poller of ``storydesk serve``: the desk's own store and model; its state warmed after each write."""
    return FeedPoller(open_follows(settings), desk.searcher.store, desk.searcher.embedder,
                      settings.fetch_policy(), every_s=settings.follow_minutes * 60,
                      after_ingest=desk.searcher.state, metrics=metrics).start()
