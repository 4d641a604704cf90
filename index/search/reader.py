"""Stage 3, the reader: a cross-encoder that reads the question and each shortlisted passage together.

A passage is a sentence with what a reader needs to judge it: who said it (from attribution), the
sentence before it (even across a paragraph break, so "he" and "the deal" have their names) and
the headline. The model is all-MiniLM-L6-v2's first four layers with a linear head on the mean of
its token states, fine-tuned by ``make train`` (``training/reader.py``, distilled from a six-layer
teacher too slow to serve) on question -> gold-sentence data written by annotators
who never saw this code; its probability ranks the answers and decides answerability.

It runs as :mod:`index.embed` does (transformers' tokenizer, shared with the embedder, and
:mod:`index.bert`'s network; training builds transformers' ``BertModel``, whose parameter names
``index.bert`` keeps): sentence-transformers' ``CrossEncoder`` adds nothing here but import time.
The word-embedding matrix is the base model's, frozen in training, so the committed file holds
only what training changed (fp16 safetensors); both files' sha256 are checked before loading.

Precision at load: int8 by default (``torch.ao.quantization.quantize_dynamic`` on the linear layers),
about twice as fast as float32 but up to 0.18 off it in probability, so the card holds a decline
threshold for int8 and one for float32. bf16, where the CPU has it natively, was faster still (the
3-layer reader: 9.5 ms for four passages against 11.5 in int8, and within 0.005 of float32), but a
serving process held 747 MB against int8's 689 (budget 700; ``make bench PART=cold``), so it is
only an option.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import (
    ModelError,
    batch_features,
    build_bert,
    layers_in_bf16,
    package_model_dir,
    sha256_of,
    verify_weights,
)
from index.search.state import SearchState

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights" / "reader"
WEIGHTS_FILE = "reader.safetensors"
CARD_FILE = "reader.json"
FROZEN = "bert.embeddings.word_embeddings.weight"  # taken from the base model at load
# (questions, passages, max_length=...) -> the padded, truncated pairs as torch tensors
Tokenize = Callable[..., Any]


def passage(state: SearchState, row: int, *, context: bool = True) -> str:
    """The text the reader sees for sentence ``row``: the sentence first, then its context.

    ``context=False`` leaves out the sentence before: search compares the two readings to tell
    whether an answer needs that sentence shown beside it.
    """
    unit = state.snap.units[row]
    parts = [state.unit_text[row]]
    if unit.speaker:
        parts.append(f"said by {unit.speaker}")
    prev = int(state.unit_prev[row])
    if prev >= 0 and context:
        parts.append(state.unit_text[prev])
    parts.append(state.stories[unit.story].headline)
    return " | ".join(parts)


@dataclass(frozen=True)
class ReaderCard:
    """What ``make train`` recorded beside the weights (``reader.json``)."""

    sha256: str
    layers: int
    max_length: int
    threshold: float  # below this probability the best passage does not answer (float32 / bf16)
    threshold_int8: float  # the same, for the int8 reader (its probabilities differ)
    candidates_story: int  # passages read for a story-scoped question
    candidates_archive: int  # and for an archive-wide one

    @classmethod
    def read(cls, folder: Path) -> ReaderCard:
        try:
            raw = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
            return cls(**{k: raw[k] for k in cls.__dataclass_fields__})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"The reader's card {folder / CARD_FILE} is missing or unreadable ({exc}); "
                             "rebuild it with `make train`.") from exc


def _model_class():
    """The reader's network: the base encoder (no pooler) and a linear head on its mean-pooled
    tokens. Mean pooling, not [CLS]: the base was trained to mean-pool, and its [CLS] state and
    pooler are near-constant, so a [CLS] head did not learn (loss stayed at log n)."""
    import torch

    class ReaderModel(torch.nn.Module):
        def __init__(self, bert: Any):  # index.bert.Bert; transformers' BertModel in training
            super().__init__()
            self.bert = bert
            self.head = torch.nn.Linear(bert.config.hidden_size, 1)
            # The first-stage score enters as a prior the cross-encoder corrects: an undertrained
            # reader then ranks like the shortlist instead of at random (cosine 0.6 -> logit 0).
            self.prior_weight = torch.nn.Parameter(torch.tensor(10.0))
            self.bias = torch.nn.Parameter(torch.tensor(-6.0))
            torch.nn.init.zeros_(self.head.weight)
            torch.nn.init.zeros_(self.head.bias)

        def forward(self, input_ids, attention_mask, token_type_ids=None, prior=None):
            tokens = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return self.head(pooled)[:, 0] + self.prior_weight * prior + self.bias

    return ReaderModel


def _training_config(layers: int, base: Path):
    """transformers' configuration of the first ``layers`` layers (training builds its model)."""
    from transformers import BertConfig

    config = BertConfig.from_pretrained(str(base), local_files_only=True)
    config.num_hidden_layers = layers
    return config


def _to_float32(_module, _inputs, output):
    return output.float()


def build_model(layers: int, base_dir: Path | None = None):
    """The base model's first ``layers`` layers with a fresh head (what training starts from)."""
    from transformers import BertModel

    base = base_dir or package_model_dir()
    bert = BertModel.from_pretrained(str(base), config=_training_config(layers, base), add_pooling_layer=False,
                                     local_files_only=True)
    return _model_class()(bert)


class Reader:
    """Scores (question, passage) pairs with the trained cross-encoder. Thread-safe."""

    def __init__(self, tokenize: Tokenize, model, card: ReaderCard, precision: str):
        self._tokenize = tokenize
        self._model = model
        self.card = card
        self.precision = precision
        self._lock = threading.Lock()

    @property
    def threshold(self) -> float:
        """The decline threshold calibrated for this reader's precision."""
        return self.card.threshold_int8 if self.precision == "int8" else self.card.threshold

    @classmethod
    def load(cls, folder: Path | None = None, *, precision: str = "int8",
             word_embeddings=None, tokenize: Tokenize | None = None) -> Reader:
        """Verify and load the committed reader (or the one in ``folder``) on the CPU.

        ``precision``: ``"int8"``, ``"bf16"`` or ``"float32"``. ``word_embeddings`` is the
        base model's matrix when the caller has it loaded already
        (:meth:`index.embed.Embedder.word_embeddings`): shared, not copied, it saves 45 MB.
        ``tokenize`` is that model's tokenizer (:meth:`index.embed.Embedder.tokenize`): shared, it
        saves 14 MB; otherwise the reader loads its own.
        """
        import torch
        from safetensors.torch import load_file
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging

        from index.bert import BertConfig

        hf_logging.disable_progress_bar()
        folder = Path(folder) if folder else WEIGHTS_DIR
        card = ReaderCard.read(folder)
        weights = folder / WEIGHTS_FILE
        if not weights.is_file():
            raise ModelError(f"Reader weights not found at {weights}; rebuild them with `make train`.")
        actual = sha256_of(weights)
        if actual != card.sha256:
            raise ModelError(f"Reader weights at {weights} have sha256 {actual}, expected {card.sha256} "
                             f"({folder / CARD_FILE}). Refusing to load a different or corrupted reader.")
        base = package_model_dir()
        if word_embeddings is None:
            verify_weights(base)
            word_embeddings = load_file(str(base / "model.safetensors"))["embeddings.word_embeddings.weight"]
        state = {k: v.float() for k, v in load_file(str(weights)).items()}
        encoder = {k.removeprefix("bert."): state.pop(k) for k in list(state) if k.startswith("bert.")}
        encoder[FROZEN.removeprefix("bert.")] = word_embeddings
        bert = build_bert(BertConfig.read(base, card.layers), encoder,
                          f"Reader weights at {weights} (a {card.layers}-layer reader)")
        model = _model_class()(bert)
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or [k for k in missing if not k.startswith("bert.")]:
            raise ModelError(f"Reader weights at {weights} do not fit a {card.layers}-layer reader "
                             f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]}).")
        model.requires_grad_(False).eval()
        if precision == "bf16":
            layers_in_bf16(model.bert)
            model.bert.encoder.register_forward_hook(_to_float32)  # pooling and head in float32
        elif precision == "int8":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8,
                                                               inplace=True)
        elif precision != "float32":
            raise ValueError(f"unknown reader precision {precision!r}")
        if tokenize is None:
            tokenize = partial(batch_features, AutoTokenizer.from_pretrained(str(base), local_files_only=True))
        return cls(tokenize, model, card, precision)

    def logits(self, question: str, passages: list[str], prior: np.ndarray) -> np.ndarray:
        """The model's logit for each passage (training distils a teacher's from these)."""
        return self._logits(question, passages, prior).numpy()

    def score(self, question: str, passages: list[str], prior: np.ndarray) -> np.ndarray:
        """Probability that each passage answers ``question``, against "none of them".

        ``prior`` is each passage's first-stage score (:mod:`.candidates`).
        """
        import torch

        if not passages:
            return np.zeros(0, dtype=np.float32)
        logits = self._logits(question, passages, prior)
        return torch.sigmoid(logits).numpy().astype(np.float32)

    def _logits(self, question: str, passages: list[str], prior: np.ndarray):
        import torch

        features = self._tokenize([question] * len(passages), passages, max_length=self.card.max_length)
        with self._lock, torch.inference_mode():
            return self._model(**features, prior=torch.as_tensor(prior, dtype=torch.float32))
