"""Step 1: quotation marks. Where each direct quote starts and ends, across paragraphs.

Curly double marks by glyph, straight ``"`` by context (an opening mark follows space and
precedes a word). An opening mark met while a quote is still open means the previous quote ran
on without a closing mark (the archive collapses paragraphs: ``"...mongrel. "I don't`` is a
continuation), and so does a paragraph that ends open when the next one starts with a mark: the
BBC's multi-paragraph quote. Single marks at top level ('safer school officers') are labels,
never speech; inside a quote they are kept verbatim. Apostrophes are never marks.

A quote is a *chain* of segments (one per paragraph it spans). :func:`masked` gives a paragraph
with long quote contents replaced by a placeholder, so the parser reads only the narrative
around a quote ("..., he said") and sentence splitting never breaks inside one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.attribution.data import SPEECH_FORMS

OPEN_DQ = "“„«"
CLOSE_DQ = "”»"
PLACEHOLDER = "Yes"  # a long quote's words as the parser sees them: parsed as a unit, never a subject
KEEP_WORDS = 4  # quotes this short stay in the parsed text: they are part of its syntax


@dataclass
class Segment:
    """One quoted stretch of one paragraph: ``text[start:end]`` are the words inside the marks."""

    para: int  # 0-based paragraph index
    start: int
    end: int
    closed: bool
    cont: bool  # continues the previous segment's quote (no closing mark before it)


def _opens(text: str, i: int) -> bool:
    """A straight double mark opens when it follows space/start/bracket and precedes a word."""
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return (before.isspace() or before in "([{—–-:") and not after.isspace()


_SPEECH_WORD = re.compile(r"\b(?:{})\b".format("|".join(sorted(SPEECH_FORMS, key=len, reverse=True))))


def _attribution_cut(text: str, start: int, nxt: int) -> int | None:
    """Where an unclosed quote really ended, when narrative ("X said:") precedes the next mark."""
    m = re.search(r"(?:[.!?]\s+)([A-Z][^.!?]{0,160}?:\s*)$", text[start:nxt])
    if m and _SPEECH_WORD.search(m.group(1)):
        return start + m.start(1)
    return None


def find_segments(paragraphs: Sequence[str]) -> list[Segment]:
    """All double-quoted stretches of a story, continuations flagged."""
    segments: list[Segment] = []
    open_at: int | None = None
    cont = False
    for p, text in enumerate(paragraphs):
        if open_at is not None:
            # The previous paragraph ended inside a quote: it continues only if this one opens.
            first = text.lstrip()[:1]
            cont = first in OPEN_DQ or first == '"'
            open_at = None
        for i, ch in enumerate(text):
            opening = ch in OPEN_DQ or (ch == '"' and _opens(text, i))
            closing = ch in CLOSE_DQ or (ch == '"' and not opening)
            if opening:
                if open_at is not None:
                    cut = _attribution_cut(text, open_at, i)
                    if cut is not None:
                        segments.append(Segment(p, open_at, cut, True, cont))
                        cont = False
                    else:
                        segments.append(Segment(p, open_at, i, False, cont))
                        cont = True
                open_at = i + 1
            elif closing and open_at is not None:
                segments.append(Segment(p, open_at, i, True, cont))
                cont = False
                open_at = None
        if open_at is not None:
            segments.append(Segment(p, open_at, len(text), False, cont))
    for seg in segments:
        while seg.end > seg.start and paragraphs[seg.para][seg.end - 1].isspace():
            seg.end -= 1
    return [s for s in segments if s.end > s.start]


def chains(segments: Sequence[Segment]) -> list[list[Segment]]:
    """Segments grouped into quotes: a continuation joins the quote before it."""
    out: list[list[Segment]] = []
    for seg in segments:
        if seg.cont and out:
            out[-1].append(seg)
        else:
            out.append([seg])
    return out


@dataclass
class Masked:
    """A paragraph as the parser sees it, and the way back to the paragraph's offsets."""

    text: str
    pieces: list[tuple[int, int, int, int]]  # (masked start, masked end, original start, end)

    def original(self, pos: int, end: bool = False) -> int:
        """The paragraph offset of masked offset ``pos`` (a placeholder maps to its quote)."""
        for ms, me, os_, oe in self.pieces:
            if ms <= pos < me or (end and pos == me):
                if me - ms == oe - os_:
                    return os_ + (pos - ms)
                return oe if end else os_
        return self.pieces[-1][3] if self.pieces else 0


def masked(text: str, segs: Sequence[Segment]) -> Masked:
    """``text`` with each quote of more than KEEP_WORDS words replaced by the placeholder.

    The quote's last character is kept when it is punctuation (``"Q,"`` then ``he said``), so
    sentence ends and the parse stay as they were.
    """
    out: list[str] = []
    pieces: list[tuple[int, int, int, int]] = []
    pos = 0
    m = 0
    for s in sorted(segs, key=lambda s: s.start):
        words = text[s.start:s.end].split()
        if len(words) <= KEEP_WORDS:
            continue
        out.append(text[pos:s.start])
        pieces.append((m, m + s.start - pos, pos, s.start))
        m += s.start - pos
        tail = text[s.end - 1] if text[s.end - 1] in ".,!?" else ""
        ph = PLACEHOLDER + tail
        out.append(ph)
        pieces.append((m, m + len(ph), s.start, s.end))
        m += len(ph)
        pos = s.end
    out.append(text[pos:])
    pieces.append((m, m + len(text) - pos, pos, len(text)))
    return Masked("".join(out), pieces)
