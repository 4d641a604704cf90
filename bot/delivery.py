"""Delivering a command's answer, the same way on every chat surface.

An adapter parses its platform's payload into a :class:`bot.commands.Request` (or a ready result,
such as a notice for a forged button), acks, and hands it to :meth:`Delivery.submit` with two
ways to post: ``reply`` for the answer as asked, and ``reply_error`` for refusals and failures,
which must reach the asker alone. The rest is here, written once for Slack and Discord:

- the command runs on a work pool, never on the thread that acks; quote checks and link fetches
  (:attr:`bot.commands.CommandSpec.slow`) have a pool of their own, so they never hold up a question;
- each answer has a time budget (``STORYDESK_ANSWER_BUDGET_S``): past it the asker is told
  politely, and the late answer is dropped; an answer is posted once, whichever comes first;
- refusals and failures go to ``reply_error`` only, never to the channel; a bug is logged with a
  short ref that the asker sees, and an answer that cannot be posted is followed, privately, by
  an error carrying a ref logged with the traceback.

>>> delivery = Delivery(commands, render_slack.render_result, answer_budget_s=30)
>>> delivery.submit(request, reply=post_in_thread, reply_error=post_ephemeral, share=True)

Standard library only: the pools, the deadline timer and the once-posted job are :mod:`bot.workers`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from bot.allocator import release_free_memory
from bot.bindings import ChatBindings, state_folder
from bot.commands import Commands, Failure, Notice, Request, Result, is_private, new_ref, spec_for
from bot.feedback import FeedbackStore, open_feedback
from bot.metrics import Metrics
from bot.settings import Settings
from bot.story_links import StoryLinks
from bot.workers import Deadlines, Job, TrackedPool

log = logging.getLogger(__name__)

Message = dict[str, Any]
Post = Callable[[Message], None]

ANSWER_WORKERS = 1  # searches are CPU-bound (torch uses both cores): more threads only add GIL contention for acks
# Quote checks compare words with every paragraph and can take seconds across an archive: they get
# their own worker so that a long check never queues the next user's question behind it.
SLOW_WORKERS = 1
SEND_WORKERS = 4  # posts the "took too long" notices, which are network I/O


def open_commands(desk: Any, settings: Settings, bindings: ChatBindings, *, metrics: Metrics | None = None,
                  admins: frozenset[str] = frozenset(), feedback: FeedbackStore | None = None) -> Commands:
    """The command layer a chat surface serves: the desk, its channel bindings, and beside them the
    feedback store (the configured one unless ``feedback`` is given) and ``/story add`` / ``follow``."""
    feedback = feedback or open_feedback(settings, state_folder(bindings, settings))
    return Commands(desk, bindings, admins=admins, feedback=feedback, metrics=metrics,
                    links=StoryLinks.for_desk(desk, settings))


def too_slow(budget_s: float) -> Notice:
    """What the asker is told when an answer misses its time budget."""
    return Notice(f"Sorry: that took longer than {budget_s:.0f} seconds, so storydesk stopped waiting. "
                  "Try a shorter question, or ask about one story.")


@dataclass(frozen=True)
class Reply:
    """A rendered message, and whether it is for the asker alone (a refusal or a failure)."""

    message: Message
    private: bool = False


class Delivery:
    """Runs requests for one chat surface and posts each answer once, within the time budget.

    ``render`` is the platform's ``render_result`` (options such as ``share`` pass through
    :meth:`submit`); ``render_undelivered`` words the error that replaces an answer the platform
    refused (default: the platform's failure message). ``sender`` posts the "took too long"
    notices; the adapter may lend its own pool (Slack lends bolt's listener pool).
    """

    def __init__(self, commands: Commands, render: Callable[..., Message], *, answer_budget_s: float = 30.0,
                 sender: TrackedPool | None = None,
                 render_undelivered: Callable[[str], Message] | None = None) -> None:
        self.commands = commands
        self.render = render
        self.render_undelivered = render_undelivered or (lambda ref: render(Failure(ref)))
        self.answer_budget_s = answer_budget_s
        # Between bursts of questions the server gives back what their buffers left free (bot/allocator.py).
        self.answer_pool = TrackedPool(ANSWER_WORKERS, "storydesk-answer", background=True,
                                       when_idle=release_free_memory)
        self.slow_pool = TrackedPool(SLOW_WORKERS, "storydesk-slow", background=True)
        self.sender = sender or TrackedPool(SEND_WORKERS, "storydesk-send")
        self._deadlines = Deadlines()

    def answer(self, request: Request | Result, **render_options: Any) -> Reply:
        """Run ``request`` (a ready result is only rendered) and render it; never raises. Blocks."""
        try:
            result = self.commands.run(request) if isinstance(request, Request) else request
            return Reply(self.render(result, **render_options), is_private(result))
        except Exception:
            ref = new_ref()
            log.exception("storydesk could not answer (ref %s)", ref, extra={"ref": ref})
            return Reply(self.render(Failure(ref)), True)

    def submit(self, request: Request | Result, reply: Post, reply_error: Post | None = None,
               **render_options: Any) -> Future[Any]:
        """Answer ``request`` on a work pool and post it with ``reply``; refusals and failures go to
        ``reply_error`` (default ``reply``). Past :attr:`answer_budget_s` the asker is told so."""
        job = Job(reply, reply_error or reply)
        spec = spec_for(request.command) if isinstance(request, Request) else None
        pool = self.slow_pool if spec is not None and spec.slow else self.answer_pool
        future = pool.submit(self._run, job, request, render_options)
        self._deadlines.after(self.answer_budget_s, lambda: self._expire(job, future))
        return future

    def _run(self, job: Job, request: Request | Result, render_options: dict[str, Any]) -> None:
        if job.settled:
            return  # its time ran out while it waited in the queue
        reply = self.answer(request, **render_options)
        if not job.settle():
            log.info("an answer finished after its time budget and was dropped")
            return
        self._post(job, reply)

    def _expire(self, job: Job, future: Future[Any]) -> None:
        if not job.settle():
            return
        future.cancel()  # still queued: it will not run at all
        log.warning("an answer took longer than %.0f s; the asker was told", self.answer_budget_s)
        # Posting is network I/O: not on the deadline thread, which serves every answer.
        self.sender.submit(self._post, job, Reply(self.render(too_slow(self.answer_budget_s)), True))

    def _post(self, job: Job, reply: Reply) -> None:
        if reply.private:
            try:
                job.reply_error(reply.message)
            except Exception:
                log.exception("storydesk could not deliver an error reply")
            return
        try:
            job.reply(reply.message)
            return
        except Exception:
            ref = new_ref()
            log.exception("storydesk could not deliver a reply (ref %s)", ref, extra={"ref": ref})
        try:
            job.reply_error(self.render_undelivered(ref))
        except Exception:
            log.exception("storydesk could not deliver the error reply either (ref %s)", ref, extra={"ref": ref})

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every answer, and every "took too long" notice, has been posted.

        The sender first: when it is the adapter's listener pool, its listeners submit answers."""
        deadline = time.monotonic() + timeout
        return all(pool.wait_idle(max(0.0, deadline - time.monotonic()))
                   for pool in (self.sender, self.answer_pool, self.slow_pool, self.sender))

    def close(self) -> None:
        """Finish in-flight answers, then stop the pools."""
        self.answer_pool.shutdown(wait=True)
        self.slow_pool.shutdown(wait=True)
        self.sender.shutdown(wait=True)  # notices for expired answers are posted from here
