"""Turn stories into stored records: attribute quotes, cut retrieval units, embed, write.

A unit is one sentence of a paragraph: long archive paragraphs hold many sentences, and the
sentence is what an answer shows. A paragraph scores as its best sentence. An extra
whole-paragraph unit per paragraph was measured and dropped: dev archive hit@1 0.775 with it,
0.80 without, at twice the encoding cost. Each unit records the speaker of its
sentence (from :mod:`index.attribution`); search uses it to route questions about people. Prefixing the
speaker's name to the embedded text was measured and dropped: it pulled "Who is X?" and "What did
X say about Y?" towards every quote of X (dev archive hit@1 0.75 with it, 0.78 without).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

from index.attribution import extract_quotes_many, speaker_for
from index.embed import Embedder
from index.ingest import IngestError
from index.models import Quote, Story
from index.store import IndexStore, StoryRecord, Unit
from index.text import sentences

# Bump when cleaning, sentence units or quote attribution change what a story's record holds:
# stories indexed by an older pipeline are then re-indexed even though their text is unchanged.
PIPELINE_VERSION = "7"


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
    """Quotes, units and vectors for ``stories``: their sentences parsed in shared spaCy batches and
    embedded in one batch call (length-sorted)."""
    prepared = []
    all_texts: list[str] = []
    for story, quotes in zip(stories, extract_quotes_many(stories), strict=True):
        units, texts = units_for(story, quotes)
        prepared.append((story, quotes, units, len(all_texts), len(all_texts) + len(texts)))
        all_texts.extend(texts)
    vectors = embedder.encode(all_texts)
    return [
        StoryRecord(story, tuple(quotes), tuple(units), np.asarray(vectors[a:b]))
        for story, quotes, units, a, b in prepared
    ]


def ingest(store: IndexStore, embedder: Embedder, stories: list[Story], *, batch: int = 256) -> IngestReport:
    """Add or replace ``stories`` in ``store``; unchanged stories (same content hash) are skipped.

    Stories are written in batches of ``batch`` (one transaction each), so a huge archive does
    not hold every vector in memory at once, and a crash loses at most the batch in flight.
    """
    store.check_model(embedder.info)
    report = IngestReport(generation=store.generation())
    ids = [story.id for story in stories]
    if len(set(ids)) != len(ids):
        twice = sorted(sid for sid, n in Counter(ids).items() if n > 1)
        raise IngestError(f"story id {', '.join(map(repr, twice))} appears twice in one ingest; "
                          "give each file its own name, or ingest it alone with --id")
    stories = [replace(story, content_hash=fingerprint(story)) for story in stories]
    known = store.story_hashes()
    for story in stories:
        if known.get(story.id) == story.content_hash:
            report.unchanged.append(story.id)
        else:
            (report.replaced if story.id in known else report.added).append(story.id)
    todo = [story for story in stories if known.get(story.id) != story.content_hash]
    for i in range(0, len(todo), batch):
        # Under the write lock, look again: a concurrent ingest may have committed some of this
        # batch while we waited, and encoding them again would be wasted minutes.
        with store.write_lock():
            now = store.story_hashes()
            fresh = [s for s in todo[i : i + batch] if now.get(s.id) != s.content_hash]
            fresh_ids = {s.id for s in fresh}
            for story in todo[i : i + batch]:
                if story.id not in fresh_ids:
                    for outcome in (report.added, report.replaced):
                        if story.id in outcome:
                            outcome.remove(story.id)
                    report.unchanged.append(story.id)
            if fresh:
                report.generation = store.write(build_records(fresh, embedder), model=embedder.info)
    return report
