"""Who said what: direct and indirect quotes of a story, with speaker and role.

The steps, one file each, in the order a story goes through them:

1. ``marks``       quotation marks: where each direct quote starts and ends, across paragraphs;
2. ``entities``    who can speak (spaCy's PERSON / ORG / NORP; never places, works, dates or the
                   outlet a speaker talked to), and which mentions are the same one;
3. ``attribution`` the subject of the speech verb in the dependency parse, pronouns and
                   descriptions resolved, quote runs keeping their speaker, indirect quotes;
4. ``speakers``    speaker look-up for questions (``match_speaker``, ``SpeakerIndex``) and the
                   quote each sentence belongs to (``speaker_for``).

``data`` holds the word tables; ``model`` loads spaCy's ``en_core_web_sm`` 3.8 (checksummed)
lazily, on the first call of :func:`extract_quotes`: the query path never loads it.

>>> from index.attribution import extract_quotes, match_speaker, speaker_for, SpeakerIndex
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from index.attribution.speakers import SpeakerIndex, match_speaker, speaker_for, speaker_index
from index.models import Quote, Story

__all__ = ["SpeakerIndex", "extract_quotes", "extract_quotes_many", "match_speaker",
           "speaker_for", "speaker_index"]

BATCH = 256  # sentences per nlp.pipe batch


def _parse(texts: Sequence[str]) -> Iterable[object]:
    from index.attribution.model import nlp

    return list(nlp().pipe(texts, batch_size=BATCH))


def extract_quotes(story: Story) -> list[Quote]:
    """Every quote of ``story`` in story order, direct and indirect, with speaker and role."""
    from index.attribution.attribution import attribute

    return attribute(story, _parse)


def extract_quotes_many(stories: Sequence[Story]) -> list[list[Quote]]:
    """:func:`extract_quotes` for many stories, their sentences parsed in shared batches."""
    from index.attribution.attribution import attribute_many

    return attribute_many(stories, _parse)
