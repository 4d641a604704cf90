"""Answers, stories and quotes rendered for a terminal (and as JSON for scripts)."""

from __future__ import annotations

import json
import textwrap

from bot.answer import Answer, QuotesAnswer
from index.models import Quote, Story, StoryInfo


def _speaker_label(speaker: str, role: str) -> str:
    return f"{speaker} ({role})" if role else speaker


def render_answer(answer: Answer, *, width: int = 88) -> str:
    """A cited answer: each hit's excerpt, who said it, and where it is (¶N, headline)."""
    lines = [f"Q: {answer.question}"]
    if not answer.found:
        lines.append(answer.message or "The story doesn't say.")
        if answer.hits:
            lines.append("Closest passages (they do not answer the question):")
    for i, hit in enumerate(answer.hits, start=1):
        lines.append(f"{i}. {hit.citation} · {hit.headline} [{hit.story}]")
        lines.append(textwrap.fill(hit.excerpt, width=width, initial_indent="   ",
                                   subsequent_indent="   "))
        if hit.speaker:
            lines.append(f"   — {_speaker_label(hit.speaker, hit.role)}")
    return "\n".join(lines)


def answer_json(answer: Answer) -> str:
    """Exactly one JSON object on one line (the ``ask --json`` format)."""
    return json.dumps(answer.to_dict(), ensure_ascii=False)


def render_stories(stories: list[StoryInfo]) -> str:
    if not stories:
        return "No stories indexed yet. Add one with: storydesk ingest PATH"
    rows = [f"{s.id}\t{s.headline}\t{s.byline or '-'}\t{s.paragraphs} paragraphs\t{s.quotes} quotes"
            for s in stories]
    return "\n".join(rows)


def render_story(story: Story) -> str:
    """The cleaned story with paragraph numbers, then what cleaning dropped (for an editor's check)."""
    out = [story.headline]
    if story.byline:
        out.append(f"By {story.byline}")
    if story.standfirst:
        out.append(f"[standfirst] {story.standfirst}")
    out.append("")
    for p in story.paragraphs:
        out.append(f"¶{p.number} {p.text}")
    out.append("")
    if story.dropped:
        out.append(f"Dropped by cleaning ({len(story.dropped)} blocks):")
        out.extend(f"  - {d}" for d in story.dropped)
    else:
        out.append("Dropped by cleaning: nothing")
    return "\n".join(out)


def quote_dict(q: Quote) -> dict:
    return {"story": q.story, "speaker": q.speaker, "role": q.role, "text": q.text,
            "paragraph": list(q.paragraphs) if len(q.paragraphs) > 1 else q.paragraphs[0],
            "kind": q.kind}


def render_quotes(result: QuotesAnswer) -> str:
    """Who said what, grouped by speaker in order of first appearance."""
    if not result.found:
        return result.message
    groups: dict[tuple[str, str], list[Quote]] = {}
    for q in result.quotes:
        groups.setdefault((q.story, q.speaker), []).append(q)
    out = []
    for (story, speaker), quotes in groups.items():
        role = next((q.role for q in quotes if q.role), "")
        out.append(f"{_speaker_label(speaker, role)} [{story}]")
        for q in quotes:
            paras = ",".join(str(p) for p in q.paragraphs)
            mark = "“”" if q.kind == "direct" else "()"
            out.append(f"  ¶{paras} {mark[0]}{q.text}{mark[1]}")
    return "\n".join(out)


def render_check(result) -> str:
    """A quote check verdict for a fact-checker: verbatim, near (with the differences), or absent."""
    if result.verdict == "absent":
        return f"NOT IN THE STORY: “{result.words}” does not appear, even approximately."
    who = f" — {result.speaker}" if result.speaker else " — not inside an attributed quote"
    head = "VERBATIM" if result.verdict == "verbatim" else f"NEAR ({result.score:.0f}% similar)"
    out = [f"{head}: ¶{result.paragraph} [{result.story}]{who}", f"   Story: “{result.matched}”"]
    out.extend(f"   - {d}" for d in result.differences)
    return "\n".join(out)
