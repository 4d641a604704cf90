"""Part ``scale``: FAISS index types on synthetic 384-d vectors at archive scale.

Vectors are clustered (a mixture of 2,000 Gaussian centres, L2-normalised) so that they behave like
sentence embeddings rather than uniform noise, which flatters no index. For each size and index
type: build time, memory (RSS growth while building), single-query latency p50 over 200 queries,
and recall@10 against exact search. These figures set :data:`index.vectors.FLAT_MAX`.
"""

from __future__ import annotations

import time

import numpy as np

from bench.common import Results, Row, log, percentile, rss_mb

DIM = 384


def synthetic(n: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((2000, DIM)).astype(np.float32)
    out = np.empty((n, DIM), dtype=np.float32)
    for a in range(0, n, 100_000):  # in chunks: keeps the temporary arrays small
        b = min(n, a + 100_000)
        out[a:b] = centres[rng.integers(0, len(centres), b - a)] + 0.6 * rng.standard_normal((b - a, DIM))
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def _variants(n: int):
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

    return [("Flat", flat, None), (f"HNSW{vectors.HNSW_M}", hnsw, ("efSearch", vectors.HNSW_EF_SEARCH)),
            (f"IVF{nlist}", ivf, ("nprobe", 16))]


def run(quick: bool, results: Results) -> list[Row]:
    import faiss

    rows: list[Row] = []
    sizes = [100_000] if quick else [100_000, 1_000_000]
    for n in sizes:
        data = synthetic(n)
        rng = np.random.default_rng(11)
        queries = data[rng.integers(0, n, 200)] + 0.05 * rng.standard_normal((200, DIM)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        exact = None
        for name, make, knob in _variants(n):
            log(f"scale: {name} at {n:,} vectors")
            before = rss_mb()
            t = time.perf_counter()
            index = make()
            if not index.is_trained:
                index.train(data[rng.integers(0, n, min(n, 100_000))])
            index.add(data)
            build = time.perf_counter() - t
            mem = rss_mb() - before
            if knob:
                if knob[0] == "efSearch":
                    index.hnsw.efSearch = knob[1]
                else:
                    faiss.extract_index_ivf(index).nprobe = knob[1]
            lat, found = [], []
            for q in queries:
                t = time.perf_counter()
                _, ids = index.search(q[None, :], 10)
                lat.append((time.perf_counter() - t) * 1000)
                found.append(ids[0])
            found = np.array(found)
            if exact is None:
                exact = found
            recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact)]))
            key = f"scale_{n // 1000}k_{name.split('IVF')[0] or 'IVF'}".lower()
            results.update({f"{key}_build_s": round(build, 1), f"{key}_mem_mb": round(mem, 0),
                            f"{key}_query_p50_ms": round(percentile(lat, 50), 3),
                            f"{key}_recall_at_10": round(recall, 3)})
            label = f"{n // 1000}k {name}"
            rows += [Row("scale", f"{label} build", build, "s"),
                     Row("scale", f"{label} memory", mem, "MB"),
                     Row("scale", f"{label} query p50", percentile(lat, 50), "ms",
                         goal="<= 50 ms at 1M" if n >= 1_000_000 else ""),
                     Row("scale", f"{label} recall@10", recall, "")]
            del index
        del data
    return rows
