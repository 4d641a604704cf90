"""Answers and desk replies as Slack messages: Block Kit plus a plain ``text`` fallback.

Pure functions, no I/O: each returns a ``{"text": ..., "blocks": [...]}`` dict ready to splat
into ``chat.postMessage`` or ``respond``.

>>> message = render_answer(desk.ask("Who called the decision catastrophic?"), share=True)
>>> client.chat_postMessage(channel="C123", **message)

Everything that came from a user or a story goes through :func:`escape`, so ``<!channel>``,
``<@U123>`` or ``<http://x|y>`` in a question or a story never pings anyone or becomes a link.
Every message respects Slack's limits (:data:`SECTION_LIMIT`, :data:`MAX_BLOCKS`,
:data:`BUTTON_VALUE_LIMIT`); long excerpts are cut at a sentence boundary with an ellipsis.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from bot import commands, feedback
from bot.answer import Answer
from index.models import Hit, Quote, StoryInfo

SECTION_LIMIT = 3000  # characters in a section's text
CONTEXT_LIMIT = 3000  # characters in one context element
TEXT_LIMIT = 3000  # the notification fallback; Slack truncates long ones anyway
MAX_BLOCKS = 50
BUTTON_VALUE_LIMIT = 2000
SHOWN_HITS = 3  # hits shown before the "More" button
MORE_HITS = 6  # hits asked for, so "More" has something to reveal
EXCERPT_LIMIT = 1200  # a quote block longer than this stops being readable in a channel
QUESTION_LIMIT = 500  # the question is echoed, not the point of the message

SHARE_ACTION = "storydesk_share"
MORE_ACTION = "storydesk_more"
FEEDBACK_ACTION_PREFIX = "storydesk_feedback_"  # + the choice: 👍 / 👎 and the reasons after 👎

Message = dict[str, Any]
Block = dict[str, Any]

_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s)")
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SAFE_URL = re.compile(r"^https?://[^\s|<>]+$")


# --------------------------------------------------------------------------- text helpers


def escape(text: str) -> str:
    """Escape Slack's three control characters so user and story text is shown, never parsed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    """Shorten ``text`` to at most ``limit`` characters, ending with an ellipsis.

    Prefers the last sentence boundary that keeps at least 40% of the room, then the last word
    boundary; never cuts inside a word unless the text is one enormous word.

    >>> cut("One two. Three four five six.", 20)
    'One two. …'
    """
    text = text.strip()
    if len(text) <= limit:
        return text
    if limit <= 2:
        return "…"
    sentence = max((m.end() for m in _SENTENCE_END.finditer(text) if m.end() <= limit - 2), default=0)
    if sentence >= 0.4 * limit:
        return text[:sentence] + " …"
    room = text[: limit - 1]  # one character left for the ellipsis
    if text[limit - 1].isspace():  # room already ends at the end of a word
        return room.rstrip() + "…"
    space = max(room.rfind(" "), room.rfind("\n"))
    if space > 0:
        return room[:space].rstrip() + "…"
    return room + "…"


def fit(text: str, limit: int) -> str:
    """``escape(cut(text, n))`` for the largest ``n`` whose escaped form fits in ``limit``."""
    budget = limit
    while True:
        escaped = escape(cut(text, budget))
        if len(escaped) <= limit or budget <= 1:
            return escaped[:limit]
        # Shrink in proportion (escaping can grow text up to 5x), by at least one character.
        budget = min(budget - 1, budget * limit // len(escaped))


def _quote_lines(text: str) -> str:
    """Slack mrkdwn blockquote: every line prefixed with ``>``."""
    return "\n".join(">" + line for line in text.splitlines() or [""])


def _link(url: str, label: str) -> str:
    """``<url|label>`` when the URL is a plain http(s) URL, else just the label (escaped)."""
    label = escape(label)
    if url and _SAFE_URL.match(url):
        return f"<{url.replace('&', '&amp;')}|{label}>"
    return label


def _mention(user_id: str) -> str:
    """A user mention, only for ids that look like Slack's own (never user-typed text)."""
    return f"<@{user_id}>" if _SLACK_ID.match(user_id or "") else "someone"


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}


def _context(*parts: str) -> Block:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": part[:CONTEXT_LIMIT]} for part in parts if part][:10],
    }


def _button(text: str, action_id: str, value: str, *, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text[:75], "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _message(fallback: str, blocks: list[Block]) -> Message:
    """``fallback`` is raw text: Slack parses the notification text too, so it is escaped here."""
    return {"text": escape(cut(fallback, TEXT_LIMIT)), "blocks": blocks[:MAX_BLOCKS]}


# --------------------------------------------------------------------------- button values


def encode_request(question: str, story: str | None) -> str:
    """A button value that lets an action re-ask the question: JSON within 2,000 characters."""
    q = question
    while True:
        value = json.dumps({"q": q, "s": story}, ensure_ascii=False, separators=(",", ":"))
        if len(value) <= BUTTON_VALUE_LIMIT:
            return value
        q = q[: len(q) - (len(value) - BUTTON_VALUE_LIMIT) - 1]


def decode_request(value: object) -> tuple[str, str | None]:
    """The ``(question, story)`` inside a button value made by :func:`encode_request`.

    Button values come back from the client and can be forged: anything that is not exactly
    what :func:`encode_request` makes raises ``ValueError``.
    """
    if not isinstance(value, str) or not value or len(value) > BUTTON_VALUE_LIMIT:
        raise ValueError("button value missing or over the limit")
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):
        raise ValueError("button value is not JSON") from None
    if not isinstance(data, dict) or set(data) != {"q", "s"}:
        raise ValueError("button value is not a question")
    question, story = data["q"], data["s"]
    if not isinstance(question, str) or not question.strip() or not (story is None or isinstance(story, str)):
        raise ValueError("button value holds no question")
    return question, (story or None)


# --------------------------------------------------------------------------- answers


def _speaker_line(hit: Hit) -> str:
    if not hit.speaker:
        return ""
    line = f"*{escape(hit.speaker)}*"
    if hit.role:
        line += f" ({escape(hit.role)})"
    return line


def _citation(hit: Hit) -> str:
    return f"{hit.citation} · {_link(hit.url, hit.headline or hit.story)}"


def render_hit(hit: Hit) -> Block:
    """One hit as a section: speaker (bold, with role), the excerpt as a quote, ¶N and headline."""
    head = _speaker_line(hit)
    foot = _citation(hit)
    # Room for the quote once the speaker line, citation and newlines are accounted for.
    room = min(EXCERPT_LIMIT, SECTION_LIMIT - len(head) - len(foot) - 8)
    excerpt = (hit.excerpt or hit.text).strip()
    quoted = _quote_lines(fit(excerpt, room))
    while len(quoted) > room:  # each line gained a ">"; shrink until it fits
        room -= len(quoted) - room
        quoted = _quote_lines(fit(excerpt, room))
    text = "\n".join(part for part in (head, quoted, foot) if part)
    return _section(text)


def _hit_fallback(hit: Hit) -> str:
    who = f"{hit.speaker}: " if hit.speaker else ""
    return f"{hit.citation} {who}{cut(hit.excerpt or hit.text, 280)}"  # excerpts carry their own quote marks


def render_answer(
    answer: Answer,
    *,
    shown: int = SHOWN_HITS,
    share: bool = False,
    more: bool = True,
    shared_by: str = "",
    stories: Sequence[StoryInfo] = (),
    answer_id: str | None = None,
) -> Message:
    """An :class:`Answer` as a Slack message.

    The question (escaped), up to ``shown`` hits as quote blocks, a context line, and buttons:
    "More" when the answer holds further hits (and ``more``), "Share in channel" when ``share``.
    ``shared_by`` (a Slack user id) marks a shared copy. ``stories`` lets a not-found answer say
    what the desk does cover. With an ``answer_id``, 👍 / 👎 buttons ask readers whether it was right.
    """
    question = fit(answer.question, QUESTION_LIMIT)
    blocks: list[Block] = [_section(f"*Q:* {question}")]
    value = encode_request(answer.question, answer.story)

    if not answer.found:
        # Say so plainly, show the nearest passages the desk's message refers to (they are not an
        # answer), and say what the desk does cover.
        message = answer.message or "The story doesn't say."
        blocks.append(_section(f":mag: {fit(message, SECTION_LIMIT - 8)}"))
        blocks.extend(render_hit(hit) for hit in answer.hits[: min(shown, 2)])
        covers = [s for s in stories if not answer.story or s.id == answer.story]
        if covers:
            lines = "\n".join(f"• {_link(s.url, s.headline or s.id)}" for s in covers[:10])
            blocks.append(_section(cut("*The desk covers:*\n" + lines, SECTION_LIMIT)))
        blocks.append(_context("Try asking what someone said or decided, or `/story quotes` to see who is quoted."))
        buttons = _feedback_buttons(answer_id)
        if share:
            buttons.append(_button("Share in channel", SHARE_ACTION, value))
        if buttons:
            blocks.append({"type": "actions", "elements": buttons})
        return _message(f"Q: {cut(answer.question, 200)} — {cut(message, 500)}", blocks)

    shown = max(1, min(shown, MAX_BLOCKS - 6))
    hits = answer.hits[:shown]
    if answer.message:
        blocks.append(_context(fit(answer.message, CONTEXT_LIMIT)))
    blocks.extend(render_hit(hit) for hit in hits)

    scope = f"story `{escape(answer.story)}`" if answer.story else "all stories"
    context = f"Verbatim excerpts from {scope} · check the paragraph before you publish"
    if shared_by:
        context = f"Shared by {_mention(shared_by)} · " + context
    blocks.append(_context(context))

    buttons = _feedback_buttons(answer_id)
    further = len(answer.hits) - len(hits)
    if more and further > 0:
        buttons.append(_button(f"More ({further})", MORE_ACTION, value))
    if share:
        buttons.append(_button("Share in channel", SHARE_ACTION, value, style="primary"))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})

    fallback = f"Q: {cut(answer.question, 200)}\n" + "\n".join(_hit_fallback(h) for h in hits)
    return _message(fallback, blocks)


# --------------------------------------------------------------------------- feedback


def _feedback_button(text: str, choice: str, answer_id: str) -> Block:
    """A vote button; its value is the ``feedback`` command's argument, checked when clicked."""
    return _button(text, FEEDBACK_ACTION_PREFIX + choice, f"{choice} {answer_id}")


def _feedback_buttons(answer_id: str | None) -> list[Block]:
    if not answer_id:
        return []
    return [_feedback_button("👍", feedback.UP, answer_id), _feedback_button("👎", feedback.DOWN, answer_id)]


def render_vote(choice: str, answer_id: str) -> Message:
    """The voter's private reply: thanks, or (after 👎) one click to say what was wrong."""
    if choice == feedback.DOWN:
        buttons = [_feedback_button(label, reason, answer_id) for reason, label in feedback.REASONS.items()]
        return _message("What was wrong with this answer?", [
            _section("*What was wrong with this answer?* One click tells the desk."),
            {"type": "actions", "elements": buttons},
            _context("Your 👎 is recorded. Clicking another button changes it."),
        ])
    label = "👍" if choice == feedback.UP else f"“{feedback.REASONS.get(choice, choice)}”"
    return render_notice(f"Thanks: your feedback ({label}) is recorded. Clicking again changes it.")


# --------------------------------------------------------------------------- other replies


def render_stories(stories: Sequence[StoryInfo], *, bound: str | None = None) -> Message:
    """The story list, marking the story this channel is bound to."""
    if not stories:
        text = "No stories are indexed yet. An editor can add one with `storydesk ingest FILE`."
        return _message(text, [_section(text)])
    blocks: list[Block] = [_section(f"*{len(stories)} {'story' if len(stories) == 1 else 'stories'} on the desk*")]
    for info in stories[: MAX_BLOCKS - 3]:
        mark = " ← this channel" if info.id == bound else ""
        meta = " · ".join(escape(p) for p in (info.byline, info.date) if p)
        counts = f"{info.paragraphs} paragraphs" + (f", {info.quotes} quotes" if info.quotes else "")
        line = f"*{_link(info.url, info.headline or info.id)}*{mark}\n`{escape(info.id)}` · {counts}"
        if meta:
            line += f" · {meta}"
        blocks.append(_section(line))
    hint = "`/story use <story-id>` makes this channel search one story; `/story use all` undoes it."
    blocks.append(_context(hint))
    text = "Stories: " + ", ".join(cut(s.headline or s.id, 120) for s in stories[:20])
    return _message(text, blocks)


def render_binding(story: StoryInfo | None, story_id: str | None) -> Message:
    """The reply to ``/story use``: which story this channel now searches."""
    if story_id is None:
        text = fallback = "This channel now searches every story."
    else:
        headline = _link(story.url, story.headline) if story else escape(story_id)
        text = f"This channel now searches only *{headline}* (`{escape(story_id)}`)."
        fallback = f"This channel now searches only {story.headline if story else story_id}."
    return _message(fallback, [_section(text), _context("`/story use all` searches every story again.")])


def render_quotes(result: Any, *, limit: int = 40) -> Message:
    """A ``QuotesAnswer`` (``found``, ``message``, ``quotes``) as a list of who said what."""
    quotes: Sequence[Quote] = list(getattr(result, "quotes", ()) or ())
    message = getattr(result, "message", "") or ""
    if not getattr(result, "found", bool(quotes)) or not quotes:
        text = message or "No quotes found."
        return _message(text, [_section(fit(text, SECTION_LIMIT))])
    speakers = {q.speaker for q in quotes}
    count = f"*{len(quotes)} {'quote' if len(quotes) == 1 else 'quotes'}*"
    if len(speakers) == 1:
        count += f" from {escape(next(iter(speakers)))}"
    blocks: list[Block] = [_section(fit(message, SECTION_LIMIT - 100) + "\n" + count if message else count)]
    limit = min(limit, MAX_BLOCKS - 2)
    for quote in quotes[:limit]:
        who = f"*{escape(quote.speaker)}*" + (f" ({escape(quote.role)})" if quote.role else "")
        kind = "" if quote.kind == "direct" else " _(reported)_"
        foot = f"¶{', ¶'.join(str(p) for p in quote.paragraphs)}{kind}"
        room = SECTION_LIMIT - len(who) - len(foot) - 8
        quoted = _quote_lines(fit(quote.text, min(room, EXCERPT_LIMIT)))
        blocks.append(_section(f"{who}\n{quoted}\n{foot}"))
    if len(quotes) > limit:
        blocks.append(_context(f"…and {len(quotes) - limit} more. Name a speaker to narrow it: `/story quotes West`."))
    text = "\n".join(f"{q.speaker}: “{cut(q.text, 200)}” (¶{q.paragraph})" for q in quotes[:10])
    return _message(text, blocks)


_VERDICTS = {
    "verbatim": ("✅", "Verbatim: the story has these exact words."),
    "near": ("⚠️", "Close, but not word for word."),
    "absent": ("❌", "Not in the story."),
}


def render_check(result: Any, words: str) -> Message:
    """A ``QuoteCheck`` (``verdict``, ``story``, ``paragraph``, ``speaker``, ``matched``, ``differences``)."""
    verdict = str(getattr(result, "verdict", "absent"))
    icon, label = _VERDICTS.get(verdict, ("❔", verdict))
    blocks: list[Block] = [_section(f"*Checking:*\n{_quote_lines(fit(words, EXCERPT_LIMIT))}")]
    blocks.append(_section(f"{icon} *{label}*"))
    text = getattr(result, "matched", "") or ""  # the story's own words, verbatim
    if verdict != "absent" and text:
        speaker = getattr(result, "speaker", "") or ""
        head = f"*{escape(speaker)}*\n" if speaker else ""
        foot = f"¶{getattr(result, 'paragraph', '?')}"
        story = getattr(result, "story", "") or ""
        if story:
            foot += f" · `{escape(story)}`"
        blocks.append(_section(f"{head}{_quote_lines(fit(text, EXCERPT_LIMIT))}\n{foot}"))
    differences: Iterable[str] = getattr(result, "differences", ()) or ()
    diffs = [f"• {fit(d, 300)}" for d in differences][:20]
    if diffs:
        blocks.append(_section(cut("*Differences:*\n" + "\n".join(diffs), SECTION_LIMIT)))
    return _message(f"{icon} {label} “{cut(words, 200)}”", blocks)


def _usage_line(spec: commands.CommandSpec) -> str:
    typed = spec.usage if spec.name == commands.DEFAULT_COMMAND else f"{spec.name} {spec.usage}".strip()
    return f"• `/story {typed}`: {spec.summary}"


def render_help(specs: Sequence[commands.CommandSpec] = commands.COMMANDS) -> Message:
    """Usage, for ``/story``, ``/story help`` and empty mentions: one line per listed command."""
    lines = ["*storydesk* answers questions about a story with verbatim, cited excerpts."]
    lines += [_usage_line(spec) for spec in specs if spec.listed]
    lines.append("Answers to `/story` are private, with a button to share them in the channel. "
                 "`@storydesk <question>` answers in a thread (follow-ups there stay on the same story); "
                 "you can also ask in a direct message. 👍 / 👎 on an answer tells the desk whether it was right.")
    example = "_Try:_ `/story Who called the decision catastrophic?`"
    fallback = "storydesk: " + ", ".join(f"/story {s.name}" for s in specs if s.listed)
    return _message(fallback, [_section("\n".join(lines)), _context(example)])


def render_notice(text: str) -> Message:
    """A short polite reply, e.g. a question that is too long. ``text`` is raw (escaped here)."""
    return _message(text, [_section(fit(text, SECTION_LIMIT))])


def render_error(ref: str) -> Message:
    """What the user sees when something failed: a short apology with the log reference."""
    text = f"Something went wrong (ref {ref}). Please try again; if it keeps happening, tell the desk editor the ref."
    return _message(text, [_section(f":warning: {escape(text)}")])


# --------------------------------------------------------------------------- command results


def render_result(result: commands.Result, *, share: bool = False, shown: int = SHOWN_HITS, more: bool = True,
                  shared_by: str = "") -> Message:
    """The message for a :mod:`bot.commands` result; the options apply to answers."""
    match result:
        case commands.AnswerResult(answer, stories, answer_id):
            return render_answer(answer, stories=stories, share=share, shown=shown, more=more, shared_by=shared_by,
                                 answer_id=answer_id)
        case commands.Voted(answer_id, choice):
            return render_vote(choice, answer_id)
        case commands.Usage(specs):
            return render_help(specs)
        case commands.StoryList(stories, bound):
            return render_stories(stories, bound=bound)
        case commands.Bound(story_id, info):
            return render_binding(info, story_id)
        case commands.QuotesResult(quotes, _):
            return render_quotes(quotes)
        case commands.CheckResult(check, words):
            return render_check(check, words)
        case commands.Done(text) | commands.Notice(text):
            return render_notice(text)
        case commands.Failure(ref):
            return render_error(ref)
    raise TypeError(f"no Slack rendering for {type(result).__name__}")
