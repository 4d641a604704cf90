"""Chat commands, written once for every chat surface: parse, validate, check admins, run.

Slack and Discord adapters only receive, verify and acknowledge a request, build a
:class:`Request`, call :meth:`Commands.run`, and render the neutral result it returns with
:mod:`bot.render_slack` or :mod:`bot.render_discord`. The commands are one table,
:data:`COMMANDS`: a row per command with its usage, whether it is admin-only, and its handler.
Adding a command is one :class:`CommandSpec` row plus one handler function; a handler that has
nothing richer to show returns a :class:`Notice` (private) or :class:`Done` (shown as asked),
which every renderer already knows.

>>> commands = Commands(desk, bindings, admins=settings.admin_users)
>>> result = commands.run(Request("ask", "Who called it catastrophic?", surface="slack", channel="slack:C1"))

``run`` never raises: input a user can fix becomes a :class:`Notice` saying what to change, and
a bug becomes a :class:`Failure` carrying a short ref that is logged with the traceback.
No library: the table and a few dataclasses are all this needs.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.answer import Answer, QuotesAnswer, unavailable_message
from bot.bindings import ChatBindings
from bot.feedback import CHOICES, FeedbackStore, UnknownAnswer
from index.models import StoryInfo
from index.store import StoreUnavailable
from index.validate import QuestionError, validate_check_words

if TYPE_CHECKING:
    from bot.metrics import Metrics
    from bot.story_links import StoryLinks
    from index.quote_check import QuoteCheck

log = logging.getLogger(__name__)

DEFAULT_COMMAND = "ask"  # what text that is not clearly a command is
# The ids ``storydesk ingest`` accepts: letters (any script), digits, '.', '_' and '-'.
_STORY_ID = re.compile(r"^\w[\w.-]{0,127}$")
_QUOTES = "\"'“”‘’«»"
_ALL_STORIES = {"all", "none", "*"}


class CommandError(ValueError):
    """Input a user can fix (an unknown story, an option of the wrong type): said, privately, no ref."""


def new_ref() -> str:
    """A short reference that ties what the user saw to the traceback in the log."""
    return secrets.token_hex(3).upper()


def code(value: str, limit: int = 100) -> str:
    """``value`` as an inline code span for a notice: one line, no backticks, at most ``limit``
    characters. Renderers leave code spans alone and escape everything around them."""
    value = " ".join(value.replace("`", "'").split())
    return f"`{value[:limit]}`"


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Request:
    """One command from one person, whatever the chat surface.

    ``channel`` and ``thread`` are binding keys (``slack:C123``, ``discord:456``). ``story`` is a
    story named explicitly (Discord's option, a button's value); otherwise the channel's binding
    applies. ``manages_channel`` is the platform's own say on admin rights (Discord's permission
    bits); None leaves it to ``STORYDESK_ADMIN_USERS``.
    """

    command: str
    arg: str = ""
    story: str | None = None
    surface: str = ""
    user: str = ""
    channel: str = ""
    thread: str | None = None
    manages_channel: bool | None = None
    k: int = 3
    # A button asking an answered question again (Share, More): not a new question for the metrics.
    repeat: bool = False


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Usage:
    """``help``: how to use each listed command."""

    commands: tuple[CommandSpec, ...]


@dataclass(frozen=True)
class AnswerResult:
    """A question's answer; ``stories`` is what the desk covers, for a not-found answer to name;
    ``answer_id`` is what its feedback buttons carry (None: no feedback store, no buttons)."""

    answer: Answer
    stories: tuple[StoryInfo, ...] = ()
    answer_id: str | None = None


@dataclass(frozen=True)
class Voted:
    """A vote was recorded. After 👎 (``choice == "down"``) the voter is asked what was wrong."""

    answer_id: str
    choice: str


@dataclass(frozen=True)
class StoryList:
    stories: tuple[StoryInfo, ...]
    bound: str | None = None


@dataclass(frozen=True)
class Bound:
    """``use``: the channel now searches ``story_id`` (None: every story)."""

    story_id: str | None
    info: StoryInfo | None = None


@dataclass(frozen=True)
class QuotesResult:
    quotes: QuotesAnswer
    speaker: str | None = None


@dataclass(frozen=True)
class CheckResult:
    check: QuoteCheck
    words: str


@dataclass(frozen=True)
class Done:
    """A plain confirmation, shown like an answer (privately unless the asker made it public).
    ``text`` may hold code spans (:func:`code`); renderers escape the rest."""

    text: str


@dataclass(frozen=True)
class Notice:
    """A message for the asker alone: what to change, a refusal, a stale binding or button."""

    text: str


@dataclass(frozen=True)
class Failure:
    """Something broke: the user sees an apology with ``ref``, the log the traceback."""

    ref: str


Result = Usage | AnswerResult | StoryList | Bound | QuotesResult | CheckResult | Voted | Done | Notice | Failure


def is_private(result: Result) -> bool:
    """Refusals and failures go to the asker alone, never to the channel."""
    return isinstance(result, (Notice, Failure))


# --------------------------------------------------------------------------- the table


Handler = Callable[["Commands", Request], Result]


def _no_arg(rest: str) -> str | None:
    return "" if not rest else None


def _story_id(rest: str) -> str | None:
    return rest if rest and " " not in rest and _STORY_ID.match(rest) else None


def _speaker(rest: str) -> str | None:
    if len(rest.split()) > 4 or "?" in rest:
        return None  # "quotes about the budget?" is a question
    return re.sub(r"^(from|by)\s+", "", rest, flags=re.I).strip(_QUOTES + " ")


def _words(rest: str) -> str | None:
    return rest.strip().strip(_QUOTES).strip() if rest else None


@dataclass(frozen=True)
class CommandSpec:
    """One row of :data:`COMMANDS`.

    ``usage`` is the argument as typed after ``/story <name>``; ``arg`` names the option that
    carries it on surfaces with typed options (Discord), described by ``arg_help``. ``parse``
    reads the text after the name, returning None when the text is not this command (then it is
    a question). ``scoped`` commands search one story: the one named, else the channel's.
    ``slow`` ones run apart so they never delay a question; ``visible`` replies tell the whole
    channel, since they change what it gets.
    """

    name: str
    summary: str
    handler: Handler
    usage: str = ""
    arg: str = ""
    arg_help: str = ""
    arg_required: bool = False
    parse: Callable[[str], str | None] = _no_arg
    admin_only: bool = False
    scoped: bool = False
    slow: bool = False
    visible: bool = False
    aliases: tuple[str, ...] = ()
    listed: bool = True


def _ask(commands: Commands, req: Request) -> Result:
    desk = commands.desk
    answer = desk.ask(req.arg, story=commands.story_for(req), k=req.k)
    if req.thread and answer.found and answer.hits:
        # Follow-ups in this thread stay on the story that answered first.
        commands.bindings.remember_thread(req.thread, answer.story or answer.hits[0].story)
    store = commands.feedback
    answer_id = store.remember(answer, req.surface) if store is not None else None
    return AnswerResult(answer, () if answer.found else tuple(desk.stories()), answer_id)


def _feedback(commands: Commands, req: Request) -> Result:
    """A feedback button: ``arg`` is ``"<choice> <answer id>"``, as the renderers put it on buttons."""
    choice, _, answer_id = req.arg.partition(" ")
    if commands.feedback is None or choice not in CHOICES or not 0 < len(answer_id) <= 64 or not req.user:
        return Notice("Sorry: that button no longer works. Ask the question again with `/story`.")
    try:
        vote = commands.feedback.record(answer_id, choice, surface=req.surface, user=req.user)
    except UnknownAnswer:
        return Notice("Sorry: storydesk no longer has that answer on record. Ask again to give feedback on it.")
    return Voted(vote.answer_id, vote.choice)


def _quotes(commands: Commands, req: Request) -> Result:
    speaker = req.arg or None
    return QuotesResult(commands.desk.quotes(story=commands.story_for(req), speaker=speaker), speaker)


def _check(commands: Commands, req: Request) -> Result:
    words = validate_check_words(req.arg)
    return CheckResult(commands.desk.check(words, story=commands.story_for(req)), req.arg)


def _stories(commands: Commands, req: Request) -> Result:
    bound = commands.bindings.channel_story(req.channel) if req.channel else None
    return StoryList(tuple(commands.desk.stories()), bound)


def _use(commands: Commands, req: Request) -> Result:
    story = req.arg.strip()
    if story.lower() in _ALL_STORIES:
        commands.bindings.bind(req.channel, None)
        return Bound(None)
    info = next((s for s in commands.desk.stories() if s.id == story), None)
    if info is None:
        return Notice(f"There is no story {code(story)} on the desk. `/story stories` lists them.")
    commands.bindings.bind(req.channel, story)
    return Bound(story, info)


# --- stories from links and followed feeds (issue #14 parts 1, 2) ---


def _link(rest: str) -> str | None:
    """One word after ``add`` / ``follow``: the link (checked when fetched); more words are a question."""
    link = rest.strip().strip("<>")  # Slack wraps a pasted link in <...>
    return link.split("|", 1)[0] if link and " " not in link else None


def _add(commands: Commands, req: Request) -> Result:
    if commands.links is None:
        return Notice("Adding stories from links is not set up on this server.")
    try:
        return Notice(commands.links.add(req.arg, commands.metrics))
    except ValueError as exc:  # refused: the message says why, and nothing was indexed
        return Notice(str(exc))


def _follow(commands: Commands, req: Request) -> Result:
    if commands.links is None:
        return Notice("Following feeds is not set up on this server.")
    try:
        return Notice(commands.links.follow(req.arg))
    except ValueError as exc:
        return Notice(str(exc))


def _help(commands: Commands, req: Request) -> Result:
    return Usage(tuple(spec for spec in COMMANDS if spec.listed))


#: Every chat command, in the order help lists them.
COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("ask", "ask a question; the answer quotes the story word for word, with ¶ numbers", _ask,
                usage="<question>", arg="question", arg_help="Your question", arg_required=True,
                parse=lambda rest: None, scoped=True),
    CommandSpec("quotes", "who is quoted, or everything one person said", _quotes,
                usage="[name]", arg="name", arg_help="Only quotes from this speaker", parse=_speaker, scoped=True),
    CommandSpec("check", "is this quote really in the story, word for word?", _check,
                usage='"words"', arg="words", arg_help="The words to check", arg_required=True, parse=_words,
                scoped=True, slow=True),
    CommandSpec("stories", "the stories on the desk", _stories, aliases=("list",)),
    CommandSpec("use", "make this channel search one story (`all` to undo)", _use,
                usage="<story-id>", arg="story", arg_help="Story id, or 'all' to search every story",
                arg_required=True, parse=_story_id, admin_only=True, visible=True),
    CommandSpec("add", "add a story from a link to the desk", _add, usage="<url>", arg="url",
                arg_help="The story's web address (https://...)", arg_required=True, parse=_link,
                admin_only=True, slow=True),
    CommandSpec("follow", "follow an RSS or Atom feed: its new articles join the desk", _follow, usage="<url>",
                arg="url", arg_help="The feed's web address (https://...)", arg_required=True, parse=_link,
                admin_only=True, slow=True),
    CommandSpec("help", "how to use storydesk", _help, aliases=("?", "-h", "--help", "usage")),
    # Sent by the 👍 / 👎 buttons on answers, never typed.
    CommandSpec("feedback", "rate an answer", _feedback, parse=lambda rest: None, listed=False),
)

_BY_NAME: dict[str, CommandSpec] = {
    alias: spec for spec in COMMANDS for alias in (spec.name, *spec.aliases)
}


def spec_for(name: str) -> CommandSpec | None:
    return _BY_NAME.get(name.lower())


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Command:
    """What a line of text (``/story ...``, a mention, a DM) asks for."""

    name: str
    arg: str = ""


def parse_command(text: str) -> Command:
    """Read ``/story`` text. Anything that is not clearly a command is a question.

    >>> parse_command('check "a perfect storm"')
    Command(name='check', arg='a perfect storm')
    >>> parse_command("use of force by officers?")   # a question, not a binding
    Command(name='ask', arg='use of force by officers?')
    """
    text = " ".join(text.split())
    if not text:
        return Command("help")
    head, _, rest = text.partition(" ")
    spec = spec_for(head)
    if spec is not None and spec.name != DEFAULT_COMMAND:
        arg = spec.parse(rest)
        if arg is not None:
            return Command(spec.name, arg)
    return Command(DEFAULT_COMMAND, text)


def option_text(options: Mapping[str, Any], name: str) -> str:
    """The text option ``name`` ("" when absent); a clear error when a client sent another type."""
    value = options.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CommandError(f"The option `{name}` must be text; got {type(value).__name__}. Try `/story help`.")
    return value


def from_options(name: str, options: Mapping[str, Any], **caller: Any) -> Request:
    """A :class:`Request` from a command with typed options (Discord's ``/story <name> opt:value``).

    ``caller`` holds the :class:`Request` fields that say who asks and where.
    """
    spec = spec_for(name)
    if spec is None or name != spec.name:
        return Request(name, **caller)  # run() answers with the usage hint
    arg = option_text(options, spec.arg) if spec.arg else ""
    story = option_text(options, "story").strip() if spec.scoped else ""
    return Request(spec.name, arg, story or None, **caller)


# --------------------------------------------------------------------------- running


def _count(metrics: Metrics, req: Request, result: Result, seconds: float) -> None:
    surface = req.surface or "chat"
    spec = spec_for(req.command)
    # Only the table's names become label values: a forged command name must not add a series.
    metrics.commands.labels(surface, spec.name if spec is not None else "unknown").inc()
    if req.command == DEFAULT_COMMAND and not req.repeat:
        metrics.questions.labels(surface, _outcome(result)).inc()
        metrics.answer_seconds.labels(surface).observe(seconds)
    elif isinstance(result, Voted):
        metrics.feedback.labels(result.choice).inc()


def _outcome(result: Result) -> str:
    """A question's outcome for the metrics: answered, declined (the story doesn't say), refused
    (input the asker can fix), or error."""
    if isinstance(result, AnswerResult):
        return "answered" if result.answer.found else "declined"
    return "error" if isinstance(result, Failure) else "refused"


@dataclass
class Commands:
    """Runs :data:`COMMANDS` against the desk. Safe to share between threads (the desk and the
    bindings are); handlers block, so adapters call :meth:`run` from a worker thread."""

    desk: Any
    bindings: ChatBindings
    # Who may run admin-only commands; empty means anyone (where the platform does not decide).
    admins: frozenset[str] = field(default_factory=frozenset)
    # Where votes go; None: answers get no feedback buttons.
    feedback: FeedbackStore | None = None
    # What /metrics counts; None: nothing is counted.
    metrics: Metrics | None = None
    # /story add and /story follow; None: those commands say they are not set up.
    links: StoryLinks | None = None

    def run(self, req: Request) -> Result:
        """The result of ``req``; never raises. Counted in :attr:`metrics`."""
        started = time.perf_counter()
        result = self._run(req)
        if self.metrics is not None:
            _count(self.metrics, req, result, time.perf_counter() - started)
        return result

    def _run(self, req: Request) -> Result:
        spec = spec_for(req.command)
        if spec is None or spec.name != req.command:
            return Notice(f"Unknown command {code(req.command, 40)}. Try `/story help`.")
        if spec.admin_only and not self.may_administer(req):
            return Notice(self._denied(req, spec))
        try:
            return spec.handler(self, req)
        except CommandError as exc:
            return Notice(str(exc))
        except QuestionError as exc:  # the desk's message is written for the reporter
            return Notice(f"Sorry: {exc}")
        except StoreUnavailable as exc:  # the database is down (issue #15): say so, privately; it resumes by itself
            ref = new_ref()
            log.warning("storydesk is unavailable (ref %s): %s", ref, exc, extra={"ref": ref})
            return Notice(unavailable_message(ref))
        except Exception:
            ref = new_ref()
            log.exception("storydesk could not run %s from %s (ref %s)", spec.name, req.surface or "chat", ref,
                          extra={"ref": ref})
            return Failure(ref)

    def may_administer(self, req: Request) -> bool:
        """Whether ``req``'s sender may run admin-only commands (:attr:`CommandSpec.admin_only`)."""
        if req.manages_channel is not None:
            return req.manages_channel
        return not self.admins or req.user in self.admins

    @staticmethod
    def _denied(req: Request, spec: CommandSpec) -> str:
        who = ("members who can manage this channel" if req.manages_channel is not None
               else "this workspace's storydesk admins")
        return f"Only {who} can use `/story {spec.name}`."

    def story_for(self, req: Request) -> str | None:
        """The story named in ``req``, else the thread's or channel's binding, else all (None).

        A binding to a story that has since been removed is dropped everywhere, and the asker told.
        """
        if req.story:
            if not self.desk.has_story(req.story):
                raise CommandError(f"There is no story {code(req.story)} on the desk. `/story stories` lists them.")
            return req.story
        bound = self.bindings.story_for(req.channel, req.thread) if req.channel else None
        if bound is not None and not self.desk.has_story(bound):
            self.bindings.forget_story(bound)
            raise CommandError(
                f"This conversation was set to story {code(bound)}, which has been removed from storydesk, "
                "so it now searches all stories. Ask again, or pick a story with `/story use`.")
        return bound

    def story_choices(self, typed: str, limit: int = 25) -> list[StoryInfo]:
        """Stories whose id or headline contains ``typed`` (for autocomplete)."""
        typed = typed.lower()
        return [s for s in self.desk.stories() if typed in s.id.lower() or typed in s.headline.lower()][:limit]
