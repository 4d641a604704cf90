"""Move an index between backends (folder <-> PostgreSQL), or onto a new model, and prove it arrived.

The source is read as one snapshot (one generation), its stories become records with their stored
vectors (:func:`index.store.records_of`), and the target takes them in one write, so a copy lands
whole or not at all. Then the row counts of both are compared table by table, and the model
recorded with them must be the one written. Given an embedder (``storydesk db copy --reembed``),
the copy re-embeds every sentence with it: how an index made with an older model (before
``make train`` changed the fine-tuned layers) moves to the current one without losing a story.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from index.embed import Embedder
from index.store import IndexStore, StoryRecord, records_of


class CopyError(ValueError):
    """The copy cannot start (empty source, non-empty target) or did not verify."""


@dataclass(frozen=True)
class CopyReport:
    """What was copied: rows per table (the same in source and target), and the target's generation."""

    counts: dict[str, int]
    generation: int


def reembedded(records: list[StoryRecord], embedder: Embedder) -> list[StoryRecord]:
    """The records with every unit's sentence embedded again by ``embedder``, in one batch call."""
    vectors = embedder.encode([u.text(r.story) for r in records for u in r.units])
    out, at = [], 0
    for record in records:
        out.append(replace(record, vectors=vectors[at : at + len(record.units)]))
        at += len(record.units)
    return out


def copy_index(source: IndexStore, target: IndexStore, embedder: Embedder | None = None) -> CopyReport:
    """Copy every story of ``source`` into the empty ``target`` (re-embedded by ``embedder`` if
    given); verify the counts match."""
    model = source.model_info()
    if model is None:
        raise CopyError(f"the index at {source.location} is empty: nothing to copy")
    if target.list_stories():
        raise CopyError(f"the index at {target.location} already holds stories: copy into an empty one")
    snap = source.snapshot()
    records = records_of(snap)
    if embedder is not None:
        model = embedder.info
        records = reembedded(records, embedder)
    target.check_model(model)
    generation = target.write(records, model=model)
    expected = {"stories": len(snap.stories), "paragraphs": sum(len(s.paragraphs) for s in snap.stories.values()),
                "units": len(snap.units), "quotes": sum(len(q) for q in snap.quotes.values())}
    arrived = target.counts()
    if arrived != expected or target.model_info() != model:
        raise CopyError(f"the copy did not verify: expected {expected}, found {arrived} at {target.location}")
    return CopyReport(arrived, generation)
