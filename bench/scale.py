"""Part ``scale``: FAISS index types on the real archive vectors and on synthetic ones at 100k and 1M.

Real: the archive index's own sentence vectors (35,679 in the full run), queried with 300 of them.
Synthetic: clustered 384-d vectors (a mixture of 2,000 Gaussian centres, L2-normalised) at 100k and
1M, queried with 200 perturbed points. For each index type: build time, memory (RSS growth while
building), single-query latency p50 (one OpenMP thread, as search runs), and recall of the exact top
10 and of the exact top 256 (the shortlist that search re-ranks), per search setting (HNSW
efSearch, IVF nprobe). Synthetic clusters flatter IVF and understate HNSW; the real vectors decide
:data:`index.vectors.FLAT_MAX` and the HNSW parameters.
"""

from __future__ import annotations

import time

import numpy as np

from bench.common import Results, Row, log, percentile, rss_mb

DIM = 384
SHORTLIST = 256  # what index.search asks the vector index for, archive-wide


def synthetic(n: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((2000, DIM)).astype(np.float32)
    out = np.empty((n, DIM), dtype=np.float32)
    for a in range(0, n, 100_000):  # in chunks: keeps the temporary arrays small
        b = min(n, a + 100_000)
        out[a:b] = centres[rng.integers(0, len(centres), b - a)] + 0.6 * rng.standard_normal((b - a, DIM))
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def real_vectors(quick: bool) -> np.ndarray:
    """The sentence vectors of the benchmark archive index (built first if missing)."""
    from bench.common import ensure_index
    from index.store import Store

    return np.ascontiguousarray(Store(ensure_index(quick)).snapshot().vectors, dtype=np.float32)


def _variants(n: int):
    """(name, constructor, search settings to measure) for each index type."""
    import faiss

    from index import vectors  # the parameters the store uses

    nlist = int(4 * np.sqrt(n))

    def flat():
        return faiss.IndexFlatIP(DIM)

    def hnsw():
        index = faiss.IndexHNSWFlat(DIM, vectors.HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = vectors.HNSW_EF_CONSTRUCTION
        return index

    def ivf():
        return faiss.index_factory(DIM, f"IVF{nlist},Flat", faiss.METRIC_INNER_PRODUCT)

    return [("Flat", flat, [None]),
            (f"HNSW{vectors.HNSW_M}", hnsw, [("efSearch", 64), ("efSearch", vectors.HNSW_EF_SEARCH)]),
            (f"IVF{nlist}", ivf, [("nprobe", 16), ("nprobe", 64)])]


def _recall(found: np.ndarray, exact: np.ndarray, k: int) -> float:
    return float(np.mean([len(set(a[:k]) & set(b[:k])) / k for a, b in zip(found, exact, strict=True)]))


def measure(label: str, data: np.ndarray, queries: np.ndarray, results: Results, *, goal: str = "") -> list[Row]:
    """Build every variant over ``data`` and measure it with ``queries``; one block of rows."""
    import faiss

    rows: list[Row] = []
    rng = np.random.default_rng(11)
    k = min(SHORTLIST, len(data))
    exact = None
    for name, make, settings in _variants(len(data)):
        log(f"scale: {name} on {label}")
        before = rss_mb()
        t = time.perf_counter()
        index = make()
        if not index.is_trained:
            index.train(data[rng.integers(0, len(data), min(len(data), 100_000))])
        index.add(data)
        build = time.perf_counter() - t
        mem = rss_mb() - before
        rows += [Row("scale", f"{label} {name} build", build, "s"), Row("scale", f"{label} {name} memory", mem, "MB")]
        base = f"scale_{label}_{name.rstrip('0123456789')}".lower()
        results.update({f"{base}_build_s": round(build, 1), f"{base}_mem_mb": round(mem, 0)})
        for setting in settings:
            if setting and setting[0] == "efSearch":
                index.hnsw.efSearch = setting[1]
            elif setting:
                faiss.extract_index_ivf(index).nprobe = setting[1]
            lat, rows_found = [], []
            for q in queries:
                t = time.perf_counter()
                _, ids = index.search(q[None, :], k)
                lat.append((time.perf_counter() - t) * 1000)
                rows_found.append(ids[0])
            found = np.array(rows_found)
            if exact is None:
                exact = found
            tag = f"{name} {setting[0]} {setting[1]}" if setting else name
            key = f"{base}{'_' + setting[0].lower() + str(setting[1]) if setting else ''}"
            r10, rk = _recall(found, exact, 10), _recall(found, exact, k)
            results.update({f"{key}_query_p50_ms": round(percentile(lat, 50), 3),
                            f"{key}_recall_at_10": round(r10, 3), f"{key}_recall_at_{k}": round(rk, 3)})
            rows += [Row("scale", f"{label} {tag} query p50", percentile(lat, 50), "ms", goal=goal),
                     Row("scale", f"{label} {tag} recall@10", r10),
                     Row("scale", f"{label} {tag} recall@{k}", rk)]
        del index
    return rows


def run(quick: bool, results: Results) -> list[Row]:
    import faiss

    faiss.omp_set_num_threads(1)  # as index.search runs single queries
    rows: list[Row] = []
    real = real_vectors(quick)
    rng = np.random.default_rng(5)
    rows += measure(f"real{len(real) // 1000}k", real, real[rng.integers(0, len(real), 300)], results)
    del real
    for n in [100_000] if quick else [100_000, 1_000_000]:
        data = synthetic(n)
        queries = data[rng.integers(0, n, 200)] + 0.05 * rng.standard_normal((200, DIM)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        rows += measure(f"{n // 1000}k", data, queries, results,
                        goal="<= 50 ms at 1M" if n >= 1_000_000 else "")
        del data
    return rows
