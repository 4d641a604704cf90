"""The plain pipeline, the design card taken literally: the yardstick every figure is compared with.

Split the file on blank lines, ``SentenceTransformer.encode`` with default settings,
``faiss.IndexFlatIP``, top-3. No cleaning, no quotes, no lexical index, no answerability.

``python -m bench.plain VECTORS.npy QUESTION`` answers one question from saved vectors: the plain
pipeline's cold start, for the ``cold`` part.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import numpy as np


def split_paragraphs(path: Path) -> list[str]:
    """The file's blank-line-separated blocks (the headline line is one of them)."""
    text = Path(path).read_text(encoding="utf-8-sig")
    return [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]


def load_model():
    """The bundled MiniLM weights in a bare :class:`SentenceTransformer`."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    from index.embed import package_model_dir

    hf_logging.disable_progress_bar()  # "Loading weights" bars in the eval and bench tables' output
    return SentenceTransformer(str(package_model_dir()), device="cpu", local_files_only=True)


class PlainIndex:
    """``IndexFlatIP`` over paragraph vectors; :meth:`search` encodes the question and takes the top 3."""

    def __init__(self, model, vectors: np.ndarray):
        import faiss

        self.model = model
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, question: str, k: int = 3) -> np.ndarray:
        q = self.model.encode([question])
        _, ids = self.index.search(np.asarray(q, dtype=np.float32), k)
        return ids[0]


def encode_child(paths: list[str], save_to: str | None) -> dict[str, float]:
    """In a fresh process: encode every paragraph of ``paths``; time, peak RSS and on-disk size.

    Model loading is timed apart from encoding (storydesk's ingest figure excludes it too).
    """
    import faiss

    from bench.common import peak_rss_mb

    paragraphs = [p for path in paths for p in split_paragraphs(Path(path))]
    t0 = time.perf_counter()
    model = load_model()
    t1 = time.perf_counter()
    vectors = model.encode(paragraphs)
    t2 = time.perf_counter()
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    size_mb = len(faiss.serialize_index(index)) / 1e6
    if save_to:
        np.save(save_to, vectors.astype(np.float32))
    return {
        "paragraphs": len(paragraphs),
        "model_load_s": t1 - t0,
        "encode_s": t2 - t1,
        "index_mb": size_mb,
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str]) -> int:
    """Cold start of the plain pipeline: load model and saved vectors, answer one question."""
    vectors_path, question = argv
    index = PlainIndex(load_model(), np.load(vectors_path))
    print(index.search(question).tolist(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
