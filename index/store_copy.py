"""Move an index between backends (folder <-> PostgreSQL) without re-embedding, and prove it arrived.

The source is read as one snapshot (one generation), its stories become records with their stored
vectors (:func:`index.store.records_of`), and the target takes them in one write, so a copy lands
whole or not at all. Then the row counts of both are compared table by table, and the model
recorded with them must be the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from index.store import IndexStore, records_of


class CopyError(ValueError):
    """The copy cannot start (empty source, non-empty target) or did not verify."""


@dataclass(frozen=True)
class CopyReport:
    """What was copied: rows per table (the same in source and target), and the target's generation."""

    counts: dict[str, int]
    generation: int


def copy_index(source: IndexStore, target: IndexStore) -> CopyReport:
    """Copy every story of ``source`` into the empty ``target``; verify the counts match."""
    model = source.model_info()
    if model is None:
        raise CopyError(f"the index at {source.location} is empty: nothing to copy")
    if target.list_stories():
        raise CopyError(f"the index at {target.location} already holds stories: copy into an empty one")
    target.check_model(model)
    snap = source.snapshot()
    generation = target.write(records_of(snap), model=model)
    expected = {"stories": len(snap.stories), "paragraphs": sum(len(s.paragraphs) for s in snap.stories.values()),
                "units": len(snap.units), "quotes": sum(len(q) for q in snap.quotes.values())}
    arrived = target.counts()
    if arrived != expected or target.model_info() != model:
        raise CopyError(f"the copy did not verify: expected {expected}, found {arrived} at {target.location}")
    return CopyReport(arrived, generation)
