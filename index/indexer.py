"""Turn stories into stored records: attribute quotes, cut retrieval units, embed, write.

A unit is one sentence of a paragraph: long archive paragraphs hold many sentences, and the
sentence is what an answer shows. A paragraph scores as its best sentence. An extra
whole-paragraph unit per paragraph was measured and dropped: dev archive hit@1 0.775 with it,
0.80 without, at twice the encoding cost. Each unit records the speaker of its
sentence (from :mod:`index.quotes`); search uses it to route questions about people. Prefixing the
speaker's name to the embedded text was measured and dropped: it pulled "Who is X?" and "What did
X say about Y?" towards every quote of X (dev archive hit@1 0.75 with it, 0.78 without).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from index.embed import Embedder
from index.models import Quote, Story
from index.quotes import extract_quotes, speaker_for
from index.store import Store, StoryRecord, Unit
from index.text import sentences


# Bump when cleaning, sentence units or quote attribution change what a story's record holds:
# stories indexed by an older pipeline are then re-indexed even though their text is unchanged.
PIPELINE_VERSION = "5"


def fingerprint(story: Story) -> str:
    """What decides whether a stored story is up to date: its content and the pipeline version."""
    return f"p{PIPELINE_VERSION}:{story.content_hash}"


@dataclass
class IngestReport:
    """What an ingest did, story ids by outcome."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    generation: int = 0


def units_for(story: Story, quotes: list[Quote]) -> tuple[list[Unit], list[str]]:
    """The retrieval units of a story and the text to embed for each."""
    units: list[Unit] = []
    texts: list[str] = []
    for paragraph in story.paragraphs:
        spans = sentences(paragraph.text)
        for span in spans:
            quote = speaker_for(quotes, paragraph.number, span.text)
            speaker = quote.speaker if quote else ""
            units.append(Unit(story.id, paragraph.number, span.start, span.end, speaker))
            texts.append(span.text)
    return units, texts


def build_records(stories: list[Story], embedder: Embedder) -> list[StoryRecord]:
    """Quotes, units and vectors for ``stories``, embedded in one batch call (length-sorted)."""
    prepared = []
    all_texts: list[str] = []
    for story in stories:
        quotes = extract_quotes(story)
        units, texts = units_for(story, quotes)
        prepared.append((story, quotes, units, len(all_texts), len(all_texts) + len(texts)))
        all_texts.extend(texts)
    vectors = embedder.encode(all_texts)
    return [
        StoryRecord(story, tuple(quotes), tuple(units), np.asarray(vectors[a:b]))
        for story, quotes, units, a, b in prepared
    ]


def ingest(store: Store, embedder: Embedder, stories: list[Story], *, batch: int = 256) -> IngestReport:
    """Add or replace ``stories`` in ``store``; unchanged stories (same content hash) are skipped.

    Stories are written in batches of ``batch`` (one transaction each), so a huge archive does
    not hold every vector in memory at once, and a crash loses at most the batch in flight.
    """
    store.check_model(embedder.info)
    known = store.story_hashes()
    report = IngestReport(generation=store.generation())
    seen: set[str] = set()
    todo: list[Story] = []
    for story in stories:
        if story.id in seen:
            raise ValueError(f"story id {story.id!r} appears twice in one ingest; use --id")
        seen.add(story.id)
        story = replace(story, content_hash=fingerprint(story))
        if known.get(story.id) == story.content_hash:
            report.unchanged.append(story.id)
        else:
            todo.append(story)
            (report.replaced if story.id in known else report.added).append(story.id)
    for i in range(0, len(todo), batch):
        records = build_records(todo[i : i + batch], embedder)
        report.generation = store.write(records, model=embedder.info)
    return report


def remove(store: Store, embedder_info, story_ids: list[str]) -> int:
    """Delete stories by id; returns the new generation."""
    return store.write([], remove=story_ids, model=embedder_info)
