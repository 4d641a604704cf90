"""FAISS vector index: the automatic choice of index type by size, build, save and load.

Vectors are L2-normalised, so inner product is cosine. Ids are the store's unit ids
(``IndexIDMap2``), so a search result maps straight back to a paragraph.

Choice by size (``bench/`` part ``scale``, one thread as search runs): exact ``IndexFlatIP``
while a brute-force scan stays well inside the latency budget (the archive's 35,745 vectors:
2.2-4.2 ms a query; 100k: 9-11 ms; 1M: 90-110 ms, across runs), HNSW above 50k (0.8 ms at 1M
with efSearch 256).

Why HNSW and not IVF above the flat range: on the real archive's vectors, HNSW32 with efSearch
256 keeps 0.98 of the exact top 256 (the shortlist search re-ranks) and 1.00 of the top 10, while
IVF (4*sqrt(n) lists) keeps 0.63 of the top 256 at nprobe 16 and 0.88 at nprobe 64. Synthetic
clustered vectors flatter IVF (1.00 at 1M) and are hard on HNSW (0.79 of the top 10 at 1M with
efSearch 256), so the choice rests on the real vectors; a real archive of 1M sentences should be
measured again before trusting either.
"""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np

# Up to this many vectors an exact scan is fast enough (see bench scale) and needs no training.
FLAT_MAX = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40  # 2 cores: build time matters more than the last point of recall
HNSW_EF_SEARCH = 256  # >= the 256-vector shortlist that search re-ranks (recall 0.98 of it)


def build(vectors: np.ndarray, ids: np.ndarray, flat_max: int = FLAT_MAX) -> faiss.Index:
    """Build the index type suited to ``len(vectors)`` and add the vectors under ``ids``."""
    n, dim = vectors.shape if vectors.size else (0, vectors.shape[1] if vectors.ndim == 2 else 384)
    if n <= flat_max:
        inner: faiss.Index = faiss.IndexFlatIP(dim)
    else:
        inner = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        inner.hnsw.efSearch = HNSW_EF_SEARCH
    index = faiss.IndexIDMap2(inner)
    if n:
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
    return index


def save(index: faiss.Index, path: Path) -> None:
    """Write ``index`` to ``path`` atomically: a temporary file, fsync, then rename."""
    tmp = path.with_name(path.name + ".tmp")
    faiss.write_index(index, str(tmp))
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load(path: Path) -> faiss.Index:
    """Read an index written by :func:`save`."""
    index = faiss.read_index(str(path))
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else index
    if isinstance(inner, faiss.IndexHNSW):
        inner.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def stored_vectors(index: faiss.Index, ids: np.ndarray) -> np.ndarray | None:
    """The vectors inside ``index`` as a zero-copy (n, d) array whose row i has id ``ids[i]``.

    ``None`` unless the index keeps them flat (Flat, or HNSW's flat storage) in exactly that
    order. Saves holding a second copy (55 MB for the archive) beside the index; the array
    keeps ``index`` alive for as long as it is referenced.
    """
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else index
    if isinstance(inner, faiss.IndexHNSW):
        inner = faiss.downcast_index(inner.storage)
    if not isinstance(inner, faiss.IndexFlat) or inner.ntotal != len(ids) or not inner.ntotal:
        return None
    if isinstance(index, faiss.IndexIDMap) and not np.array_equal(faiss.vector_to_array(index.id_map), ids):
        return None
    raw = faiss.rev_swig_ptr(inner.get_xb(), inner.ntotal * inner.d).reshape(inner.ntotal, inner.d)
    # The view's base keeps the index alive: a caller that outlives its snapshot must not read
    # freed memory (the scale benchmark once did, and measured recall on garbage).
    return np.asarray(_KeepAlive(raw.__array_interface__, index))


class _KeepAlive:
    """Exposes an array interface while holding the object that owns the memory."""

    def __init__(self, interface: dict, owner: object):
        self.__array_interface__ = interface
        self.owner = owner

