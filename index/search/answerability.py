"""Stage 4, answerability: does the best passage answer the question, or does the story not say?

Input: the analysed question, the scope and the reader's best probability. Output: ``(found,
message)``. Each check is one row of :data:`CHECKS`, tried in order; the first that objects
declines with its message. The reader's threshold is learned (``make train`` picks it on the dev
split); the name checks stay because a reader shown only the closest passages cannot know that a
person the question names appears nowhere in the story.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from index.search.question import Question
from index.search.state import SearchState
from index.text import words


@dataclass(frozen=True)
class Verdict:
    """What the checks see."""

    question: Question
    state: SearchState
    story: str | None
    best: float  # the reader's probability for the best passage (0 when there is none)
    threshold: float


def _where(story: str | None) -> str:
    return "this story" if story is not None else "any indexed story"


def _unknown_name(v: Verdict) -> str | None:
    """A two-word name none of whose words the story uses: nothing to answer from."""
    scope = v.state.story_words(v.story)
    missing = [n for n in v.question.names if not any(w in scope for w in words(n))]
    if missing:
        return f"The story doesn't say: {', '.join(missing)} is not mentioned in {_where(v.story)}."
    return None


def _unknown_speaker(v: Verdict) -> str | None:
    """"What did X say?" about an X the story never names (quoted or not).

    A one-word X may be a nickname the story doesn't use ("Fergie" for Sir Alex Ferguson), so it
    declines only when the reader finds no answer either (on dev this veto declined two answerable
    questions for one unanswerable); a full name the story lacks declines outright.
    """
    name = v.question.speaker_asked
    scope = v.state.story_words(v.story)
    if not name or any(w in scope for w in words(name)):
        return None
    if name not in v.question.names and v.best >= v.threshold:
        return None
    message = f"No one named {name} is mentioned in {_where(v.story)}, so nothing they said is quoted."
    if v.story is not None:
        quoted = sorted({q.speaker for q in v.state.quotes(v.story)})
        message += f" Quoted: {', '.join(quoted) if quoted else 'nobody'}."
    return message


def _nothing_close(v: Verdict) -> str | None:
    if v.best < v.threshold:
        return "The story doesn't say. The closest passages are below, but they do not answer it."
    return None


CHECKS: tuple[tuple[str, Callable[[Verdict], str | None]], ...] = (
    ("a named speaker the story never mentions", _unknown_speaker),
    ("a two-word name the story never mentions", _unknown_name),
    ("the reader finds no passage that answers", _nothing_close),
)


def decide(verdict: Verdict) -> tuple[bool, str]:
    """``(True, "")`` when the best passage answers, else ``(False, why)``."""
    for _, check in CHECKS:
        message = check(verdict)
        if message:
            return False, message
    return True, ""
