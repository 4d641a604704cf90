"""Quote check for fact-checkers: did the story really say these words, and who said them?

``check_quote(words, stories, quotes)`` compares the words with every paragraph of the stories
after folding curly/straight quote marks, dashes, case and whitespace:

- ``verbatim``: the folded words occur in a paragraph exactly;
- ``near``: a window of the paragraph aligns with them at ``NEAR_THRESHOLD`` or better (rapidfuzz
  ``partial_ratio_alignment`` finds the best window; ``difflib`` lists the word differences);
- ``absent``: nothing comes close.

The matched text is returned verbatim from the story (not folded), with story id, paragraph and
the speaker when the words lie inside an attributed quote.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from rapidfuzz import fuzz

from index.attribution import speaker_for
from index.models import Quote, Story
from index.text import fold_marks, fold_marks_with_offsets
from index.validate import content_words

# The offset-keeping fold, under the name callers and tests know.
fold = fold_marks_with_offsets

Verdict = Literal["verbatim", "near", "absent"]
NEAR_THRESHOLD = 85.0

@dataclass(frozen=True)
class QuoteCheck:
    """The verdict on one quote check; ``differences`` is filled for ``near``."""

    verdict: Verdict
    words: str
    story: str = ""
    paragraph: int = 0
    matched: str = ""
    speaker: str = ""
    score: float = 0.0
    differences: tuple[str, ...] = field(default_factory=tuple)


def _content(folded: str) -> set[str]:
    return set(content_words(folded))


def _strip_marks(text: str) -> str:
    """Folded words without surrounding quote marks or trailing punctuation."""
    return text.strip(" \"'.,;:!?")


def _differences(said: str, story: str) -> tuple[str, ...]:
    """Word-level differences between the checked words and the story's, readably."""
    a = re.findall(r"\S+", said)
    b = re.findall(r"\S+", story)
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        mine, theirs = " ".join(a[i1:i2]), " ".join(b[j1:j2])
        if op == "replace":
            out.append(f'"{mine}" should be "{theirs}"')
        elif op == "delete":
            out.append(f'"{mine}" is not in the story')
        else:
            out.append(f'missing "{theirs}"')
    return tuple(out)


def check_quote(words: str, stories: Sequence[Story], quotes: Sequence[Quote] = ()
                ) -> QuoteCheck:
    """Check ``words`` against ``stories``: verbatim, near (with differences) or absent.

    ``quotes`` are the extracted quotes of those stories (any order); they supply the speaker.
    """
    folded, _ = fold(words)
    target = _strip_marks(folded)
    if not target:
        return QuoteCheck("absent", words)
    best: tuple[float, Story, int, int, int, str] | None = None
    wanted = _content(target)
    # A paragraph that holds under a third of the quote's content words cannot align with it at
    # NEAR_THRESHOLD; ruling those out first keeps a check across the archive well under a second
    # (the alignment below costs about len(words) x len(paragraph)).
    need = len(wanted) / 3 if len(wanted) >= 3 else 0
    for story in stories:
        for para in story.paragraphs:
            if need and len(wanted & _content(fold_marks(para.text))) < need:
                continue
            ptext, where = fold(para.text)
            if not ptext:
                continue
            at = ptext.find(target)
            if at >= 0:
                start, end = where[at], where[at + len(target) - 1] + 1
                return _result("verbatim", words, story, para.number, para.text[start:end],
                               100.0, quotes, ())
            al = fuzz.partial_ratio_alignment(target, ptext, score_cutoff=NEAR_THRESHOLD - 10)
            if al is None:
                continue
            a, b, window, score = _best_window(target, ptext, al.dest_start, al.dest_end)
            if best is None or score > best[0]:
                best = (score, story, para.number, where[a], where[b - 1] + 1, window)
    if best is None or best[0] < NEAR_THRESHOLD:
        return QuoteCheck("absent", words, score=best[0] if best else 0.0)
    score, story, number, start, end, window = best
    return _result("near", words, story, number, story.paragraph(number).text[start:end], score,
                   quotes, _differences(target, window))


def _best_window(target: str, text: str, start: int, end: int) -> tuple[int, int, str, float]:
    """Snap an alignment to whole words, trying nearby word boundaries for the best ratio."""
    bounds = [0] + [m.end() for m in re.finditer(r"\s+", text)]
    ends = [m.start() for m in re.finditer(r"[\s]+", text)] + [len(text)]
    starts = sorted(bounds, key=lambda x: abs(x - start))[:3]
    finishes = sorted(ends, key=lambda x: abs(x - end))[:4]
    best = (start, end, text[start:end], -1.0)
    for a in starts:
        for b in finishes:
            if b <= a:
                continue
            window = text[a:b].strip(" \"'.,;:!?")
            shift = text[a:b].find(window)
            score = fuzz.ratio(target, window)
            if score > best[3]:
                best = (a + shift, a + shift + len(window), window, score)
    return best


def _result(verdict: Verdict, words: str, story: Story, number: int, matched: str, score: float,
            quotes: Sequence[Quote], diffs: tuple[str, ...]) -> QuoteCheck:
    story_quotes = [q for q in quotes if q.story == story.id]
    owner = speaker_for(story_quotes, number, matched)
    return QuoteCheck(verdict, words, story.id, number, matched,
                      owner.speaker if owner else "", round(score, 1), diffs)
