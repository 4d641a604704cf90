"""Render storydesk's platform-neutral answers as Discord message JSON.

Every function here returns the ``data`` of an interaction response (or the body of a webhook
edit): a dict with ``content`` and/or ``embeds`` and, always, ``allowed_mentions: {"parse": []}``
so nothing a reporter typed or a story quoted can ping ``@everyone``, a role or a user.

    data = render_answer(desk.ask("What did Matt Cox tell the Assembly?"))
    data["embeds"][0]["title"]           # the speaker, and role when known
    data["embeds"][0]["description"]     # the verbatim excerpt, markdown-escaped
    data["embeds"][0]["footer"]["text"]  # "¶N · headline"

Discord's limits are enforced here, not by the caller: content 2,000 characters, embed title 256,
description 4,096, footer 2,048, field value 1,024, 10 embeds, and 6,000 characters across all
embeds of a message. Long text is cut at a sentence boundary (else a word boundary) with an
ellipsis, never mid-word; when the embeds together run over 6,000 the longest descriptions give
way first, so every hit keeps its citation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from bot import commands, feedback
from bot.answer import Answer
from index.models import Hit, Quote, StoryInfo

Message = dict[str, Any]
Embed = dict[str, Any]

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
MAX_EMBEDS = 10
EMBEDS_TOTAL_LIMIT = 6000
MAX_ROWS = 5  # action rows of message components
CUSTOM_ID_LIMIT = 100
LABEL_LIMIT = 80
FEEDBACK_PREFIX = "storydesk_feedback:"  # + "<choice>:<answer id>" on the 👍 / 👎 buttons
BUTTON, ACTION_ROW, SECONDARY = 2, 1, 2
ELLIPSIS = "…"

# storydesk's accent colour; verdict colours for /story check.
COLOUR = 0x2B6CB0
COLOUR_OK = 0x2F855A
COLOUR_WARN = 0xC05621
COLOUR_BAD = 0xC53030
COLOUR_MUTED = 0x718096  # nearest passages that do not answer

# Characters Discord markdown treats as syntax anywhere in a line: emphasis, strike, code,
# spoilers, masked links, and the escape itself. ``<`` and ``@`` are escaped too so that
# ``<@123>``, ``<#channel>`` and ``@everyone`` render as the plain text they were typed as
# (allowed_mentions already stops the ping; this stops the highlight and the confusion).
_INLINE = re.compile(r"([\\*_~`|\[\]<@])")
# Syntax that only counts at the start of a line: block quotes, headings, subtext (-#), lists.
_LINE_START = re.compile(r"(?m)^(\s*)([>#\-+]|\d+(?=\.))")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s)")


class QuotesLike(Protocol):
    """What ``Desk.quotes`` returns (``bot.answer.QuotesAnswer``); read-only, as frozen dataclasses are."""

    @property
    def found(self) -> bool: ...
    @property
    def message(self) -> str: ...
    @property
    def quotes(self) -> Sequence[Quote]: ...


class CheckLike(Protocol):
    """What ``Desk.check`` returns (``index.quote_check.QuoteCheck``)."""

    @property
    def verdict(self) -> str: ...
    @property
    def story(self) -> str: ...
    @property
    def paragraph(self) -> int: ...
    @property
    def speaker(self) -> str: ...
    @property
    def matched(self) -> str: ...  # the story's own words, verbatim
    @property
    def differences(self) -> Sequence[str]: ...


# --- text helpers -----------------------------------------------------------------------------


def escape_markdown(text: str) -> str:
    r"""Backslash-escape Discord markdown so ``text`` renders exactly as written.

    >>> print(escape_markdown("**bold** @everyone <@123>"))
    \*\*bold\*\* \@everyone \<\@123>
    """
    text = _INLINE.sub(r"\\\1", text)
    return _LINE_START.sub(_escape_line_start, text)


def _escape_line_start(m: re.Match[str]) -> str:
    # "1. " is a list only because of the dot, and a backslash before a digit would show,
    # so numbered lists are escaped as "1\. ".
    lead, mark = m.group(1), m.group(2)
    return lead + (mark + "\\" if mark[0].isdigit() else "\\" + mark)


def trim(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a sentence, else word, boundary, plus "…".

    Text already within the limit comes back unchanged.

    >>> trim("One two three. Four five six seven.", 24)
    'One two three. …'
    """
    if len(text) <= limit:
        return text
    if limit < 2:
        return ELLIPSIS[:limit]
    # Prefer the last sentence end that leaves room for " …", unless it throws away more than
    # half of what would fit (then a word boundary keeps more of the excerpt).
    ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, limit)]
    ends = [e for e in ends if e + 2 <= limit]
    if ends and ends[-1] >= limit // 2:
        return text[: ends[-1]] + " " + ELLIPSIS
    room = text[: limit - 1]
    # A cut right before whitespace is already a word boundary; otherwise back up to a space.
    if not text[limit - 1].isspace():
        space = max(room.rfind(" "), room.rfind("\n"))
        if space > 0:
            room = room[:space]
    return room.rstrip(" \n,;:—–-") + ELLIPSIS


def fit(text: str, limit: int, *, escape: bool = True) -> str:
    """``text`` trimmed so that, once escaped (when ``escape``), it fits in ``limit`` characters.

    Trimming happens on the raw text so an escape sequence is never cut in half.
    """
    render = escape_markdown if escape else (lambda s: s)
    out = render(trim(text, limit))
    if len(out) <= limit:
        return out
    # Escaping grew it past the limit: find the largest raw budget whose escaped form fits.
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(render(trim(text, mid))) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return render(trim(text, lo))


def _plain(text: str, limit: int) -> str:
    """For fields Discord shows without markdown (footer, author): trimmed, never escaped,
    because a backslash there would be shown literally."""
    return trim(" ".join(text.split()), limit)


def _speaker_title(speaker: str, role: str) -> str:
    return f"{speaker}, {role}" if speaker and role else speaker


# --- message assembly -------------------------------------------------------------------------


def message(content: str = "", embeds: Iterable[Embed] = (),
            components: Sequence[dict[str, Any]] | None = None) -> Message:
    """A message with ``allowed_mentions`` locked down and every limit enforced.

    ``components`` (rows of buttons) are included when given; an empty list removes a message's
    buttons when it replaces one.

    ``content`` is used as given (callers escape what came from users or stories); it is trimmed
    to 2,000 characters. Embeds past the tenth are dropped and descriptions shortened until the
    embeds total at most 6,000 characters.
    """
    embeds = [dict(e) for e in embeds][:MAX_EMBEDS]
    _fit_total(embeds)
    # A fresh dict every time: callers may mutate the message (flags) without sharing state.
    msg: Message = {"content": trim(content, CONTENT_LIMIT), "embeds": embeds, "allowed_mentions": {"parse": []}}
    if components is not None:
        msg["components"] = list(components)
    return msg


def embed_size(embed: Embed) -> int:
    """Characters of ``embed`` that count towards Discord's 6,000-per-message limit."""
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += len(embed.get("footer", {}).get("text", "")) + len(embed.get("author", {}).get("name", ""))
    for f in embed.get("fields", []):
        size += len(f.get("name", "")) + len(f.get("value", ""))
    return size


def _fit_total(embeds: list[Embed]) -> None:
    """Shorten descriptions (longest first, water-filling) until the embeds fit in 6,000."""
    excess = sum(embed_size(e) for e in embeds) - EMBEDS_TOTAL_LIMIT
    if excess <= 0:
        return
    fixed = sum(embed_size(e) - len(e.get("description", "")) for e in embeds)
    room = EMBEDS_TOTAL_LIMIT - fixed
    order = sorted(range(len(embeds)), key=lambda i: len(embeds[i].get("description", "")))
    remaining = len(order)
    for i in order:
        share = max(room // remaining, 0)
        desc = embeds[i].get("description", "")
        if len(desc) > share:
            # Descriptions here are already escaped; re-trimming can split an escape pair,
            # so drop a trailing lone backslash.
            cut = trim(desc, share)
            if cut.endswith("\\" + ELLIPSIS):
                cut = cut[: -len(ELLIPSIS) - 1] + ELLIPSIS
            embeds[i]["description"] = cut
        room -= len(embeds[i].get("description", ""))
        remaining -= 1


def validate(msg: Message) -> list[str]:
    """Every way ``msg`` breaks Discord's limits or storydesk's rules (empty list: none).

    Used by the tests and the Discord API stand-in; cheap enough to call anywhere.
    """
    problems: list[str] = []
    if msg.get("allowed_mentions") != {"parse": []}:
        problems.append("allowed_mentions must be {'parse': []}")
    if len(msg.get("content", "") or "") > CONTENT_LIMIT:
        problems.append("content over 2000")
    embeds = msg.get("embeds", []) or []
    if len(embeds) > MAX_EMBEDS:
        problems.append("more than 10 embeds")
    if sum(embed_size(e) for e in embeds) > EMBEDS_TOTAL_LIMIT:
        problems.append("embeds over 6000 in total")
    for n, e in enumerate(embeds):
        checks = [
            ("title", len(e.get("title", "")), TITLE_LIMIT),
            ("description", len(e.get("description", "")), DESCRIPTION_LIMIT),
            ("footer", len(e.get("footer", {}).get("text", "")), FOOTER_LIMIT),
            ("author", len(e.get("author", {}).get("name", "")), AUTHOR_LIMIT),
        ]
        checks += [("field name", len(f.get("name", "")), FIELD_NAME_LIMIT) for f in e.get("fields", [])]
        checks += [("field value", len(f.get("value", "")), FIELD_VALUE_LIMIT) for f in e.get("fields", [])]
        problems += [f"embed {n} {what} over {limit}" for what, size, limit in checks if size > limit]
    if not (msg.get("content") or embeds):
        problems.append("empty message")
    rows = msg.get("components") or []
    if len(rows) > MAX_ROWS or any(len(row.get("components", [])) > 5 for row in rows):
        problems.append("more than 5 rows of components, or 5 buttons in a row")
    for button in (b for row in rows for b in row.get("components", [])):
        if len(button.get("custom_id", "")) > CUSTOM_ID_LIMIT or len(button.get("label", "")) > LABEL_LIMIT:
            problems.append("button custom_id over 100 or label over 80")
    return problems


# --- renderers --------------------------------------------------------------------------------


def hit_embed(hit: Hit, *, colour: int = COLOUR) -> Embed:
    """One cited hit: speaker (and role) as the title when known, the verbatim excerpt, and
    "¶N · headline" in the footer; the title links to the story when it has a URL."""
    title = _speaker_title(hit.speaker, hit.role) or hit.headline or hit.story
    embed: Embed = {
        "title": fit(title, TITLE_LIMIT),
        "description": fit(hit.excerpt or hit.text, DESCRIPTION_LIMIT),
        "color": colour,
        "footer": {"text": _plain(f"{hit.citation} · {hit.headline or hit.story}", FOOTER_LIMIT)},
    }
    if hit.url:
        embed["url"] = hit.url
    return embed


def _feedback_button(label: str, choice: str, answer_id: str) -> dict[str, Any]:
    return {"type": BUTTON, "style": SECONDARY, "label": label[:LABEL_LIMIT],
            "custom_id": f"{FEEDBACK_PREFIX}{choice}:{answer_id}"[:CUSTOM_ID_LIMIT]}


def _feedback_row(answer_id: str | None) -> list[dict[str, Any]] | None:
    if not answer_id:
        return None
    buttons = [_feedback_button("👍", feedback.UP, answer_id), _feedback_button("👎", feedback.DOWN, answer_id)]
    return [{"type": ACTION_ROW, "components": buttons}]


def render_vote(choice: str, answer_id: str) -> Message:
    """The voter's private reply: thanks, or (after 👎) one click to say what was wrong."""
    if choice == feedback.DOWN:
        buttons = [_feedback_button(label, reason, answer_id) for reason, label in feedback.REASONS.items()]
        return message("**What was wrong with this answer?** One click tells the desk; your 👎 is recorded.",
                       components=[{"type": ACTION_ROW, "components": buttons}])
    label = "👍" if choice == feedback.UP else f"“{feedback.REASONS.get(choice, choice)}”"
    return message(f"Thanks: your feedback ({label}) is recorded. Clicking again changes it.", components=[])


def render_answer(answer: Answer, *, max_hits: int = 3, stories: Sequence[StoryInfo] = (),
                  answer_id: str | None = None) -> Message:
    """An answer: the question (escaped) and the desk's message, then an embed per hit, and
    (given an ``answer_id``) 👍 / 👎 buttons.

    A not-found answer says so plainly, shows (greyed) the nearest passages its message refers
    to, which are not an answer, and, given ``stories``, what the desk does cover.
    """
    lines = [f"**Q:** {fit(answer.question, 1000)}"]
    if answer.found:
        if answer.message:
            lines.append(fit(answer.message, 500))
        return message("\n".join(lines), [hit_embed(h) for h in answer.hits[:max_hits]], _feedback_row(answer_id))
    lines.append("🔎 " + fit(answer.message or "The story doesn't say.", 500))
    covers = [s for s in stories if not answer.story or s.id == answer.story][:5]
    if covers:
        lines.append("**The desk covers:** " + "; ".join(fit(s.headline or s.id, 120) for s in covers))
    lines.append("Try asking what someone said or decided, or `/story quotes` to see who is quoted.")
    nearest = [hit_embed(h, colour=COLOUR_MUTED) for h in answer.hits[: min(max_hits, 2)]]
    return message("\n".join(lines), nearest, _feedback_row(answer_id))


def render_stories(stories: Sequence[StoryInfo], *, bound: str | None = None) -> Message:
    """The story list, marking the story this channel is bound to."""
    if not stories:
        return message("No stories are indexed yet. An editor can add one with `storydesk ingest`.")
    lines = []
    for s in stories:
        marker = " ← this channel" if s.id == bound else ""
        detail = f"{s.paragraphs} paragraphs" + (f", {s.quotes} quotes" if s.quotes else "")
        lines.append(f"**{fit(s.headline or s.id, 300)}**{marker}\n{fit(s.id, 200)} · {detail}")
    scope = f"This channel follows **{escape_markdown(bound)}**." if bound else (
        "This channel searches all stories; `/story use` binds it to one."
    )
    body = trim("\n\n".join(lines), DESCRIPTION_LIMIT)
    return message(scope, [{"title": f"Stories ({len(stories)})", "description": body, "color": COLOUR}])


def quote_embed(quote: Quote) -> Embed:
    """One quote: speaker and role as the title, the words, paragraph and kind in the footer."""
    kind = "reported speech" if quote.kind == "indirect" else "direct quote"
    paras = ", ".join(f"¶{p}" for p in quote.paragraphs)
    return {
        "title": fit(_speaker_title(quote.speaker, quote.role) or "Unattributed", TITLE_LIMIT),
        "description": fit(quote.text, DESCRIPTION_LIMIT),
        "color": COLOUR,
        "footer": {"text": _plain(f"{paras} · {kind} · {quote.story}", FOOTER_LIMIT)},
    }


def render_quotes(result: QuotesLike, *, speaker: str | None = None) -> Message:
    """Who said what: an embed per quote, at most 10; the content says how many were left out."""
    quotes = list(result.quotes) if result.found else []
    who = f" from **{fit(speaker, 200)}**" if speaker else ""
    if not quotes:
        return message(fit(result.message or f"No quotes{who} found.", 1500))
    head = f"{len(quotes)} quote{'s' if len(quotes) != 1 else ''}{who}"
    if len(quotes) > MAX_EMBEDS:
        head += f" (showing the first {MAX_EMBEDS})"
    if result.message:
        head += "\n" + fit(result.message, 900)
    return message(head, [quote_embed(q) for q in quotes[:MAX_EMBEDS]])


_VERDICTS = {
    "verbatim": ("✅ Verbatim: these words are in the story exactly.", COLOUR_OK),
    "near": ("⚠️ Close, but not verbatim: the story says it differently.", COLOUR_WARN),
    "absent": ("❌ Not in the story: no passage matches these words.", COLOUR_BAD),
}


def _differences(differences: Any) -> str:
    if not differences:
        return ""
    if isinstance(differences, str):
        return fit(differences, FIELD_VALUE_LIMIT)
    items = [d if isinstance(d, str) else str(d) for d in differences]
    return trim("\n".join("• " + escape_markdown(d) for d in items), FIELD_VALUE_LIMIT)


def render_check(words: str, check: CheckLike) -> Message:
    """A quote check: the verdict, the words as given, and the story's own words when found."""
    verdict, colour = _VERDICTS.get(check.verdict, (f"Verdict: {check.verdict}", COLOUR))
    content = f"{verdict}\n**Checked:** {fit(words, 1000)}"
    if check.verdict == "absent" or not check.matched:
        return message(content)
    embed: Embed = {
        "title": fit(check.speaker or "The story says", TITLE_LIMIT),
        "description": fit(check.matched, DESCRIPTION_LIMIT),
        "color": colour,
    }
    footer = " · ".join(p for p in (f"¶{check.paragraph}" if check.paragraph else "", check.story or "") if p)
    if footer:
        embed["footer"] = {"text": _plain(footer, FOOTER_LIMIT)}
    diff = _differences(check.differences)
    if diff and check.verdict != "verbatim":
        embed["fields"] = [{"name": "Differences", "value": diff}]
    return message(content, [embed])


def render_bound(story: StoryInfo | str) -> Message:
    """Confirmation that ``/story use`` bound this channel to a story."""
    name = story.headline or story.id if isinstance(story, StoryInfo) else story
    return message(f"This channel now follows **{fit(name, 500)}**. Questions here search that story only.")


def _usage_line(spec: commands.CommandSpec) -> str:
    typed = f"{spec.name} {spec.arg}:" if spec.arg else spec.name
    return f"`/story {typed}` {_escape_outside_code(spec.summary)}"


def render_help(specs: Sequence[commands.CommandSpec] = commands.COMMANDS) -> Message:
    """Usage, for ``/story help``: one line per listed command."""
    lines = ["**storydesk** answers questions about a news story with cited, verbatim excerpts."]
    lines += [_usage_line(spec) for spec in specs if spec.listed]
    lines.append("Only you see answers; set `public: True` to post one in the channel. "
                 "👍 / 👎 on an answer tells the desk whether it was right.")
    return message("\n".join(lines))


_CODE_SPAN = re.compile(r"(`[^`\n]*`)")


def _escape_outside_code(text: str) -> str:
    """``text`` with markdown escaped except inside code spans, where Discord parses nothing."""
    parts = _CODE_SPAN.split(text)
    return "".join(p if i % 2 else escape_markdown(p) for i, p in enumerate(parts))


def render_notice(text: str) -> Message:
    """A short reply written by storydesk (:mod:`bot.commands` notices): code spans kept as they
    are (they hold user input, shown literally), everything else escaped."""
    return message(_escape_outside_code(trim(text, 1500)))


def render_error(text: str, *, ref: str | None = None) -> Message:
    """A short visible error; ``ref`` ties it to the traceback in the log."""
    suffix = f" (ref `{ref}`)" if ref else ""
    return message(fit(text, 1500) + suffix)


def render_result(result: commands.Result) -> Message:
    """The message for a :mod:`bot.commands` result."""
    match result:
        case commands.AnswerResult(answer, stories, answer_id):
            return render_answer(answer, stories=stories, answer_id=answer_id)
        case commands.Voted(answer_id, choice):
            return render_vote(choice, answer_id)
        case commands.Usage(specs):
            return render_help(specs)
        case commands.StoryList(stories, bound):
            return render_stories(stories, bound=bound)
        case commands.Bound(None, _):
            return message("This channel now searches all stories.")
        case commands.Bound(str() as story_id, info):
            return render_bound(info or story_id)
        case commands.QuotesResult(quotes, speaker):
            return render_quotes(quotes, speaker=speaker)
        case commands.CheckResult(check, words):
            return render_check(words, check)
        case commands.Done(text) | commands.Notice(text):
            return render_notice(text)
        case commands.Failure(ref):
            return render_error("Sorry, something went wrong answering that.", ref=ref)
    raise TypeError(f"no Discord rendering for {type(result).__name__}")
