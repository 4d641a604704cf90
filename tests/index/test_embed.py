"""The embedder: the real MiniLM weights with the committed fine-tuned layers, the same vectors as
sentence-transformers given the same weights, clear refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from index.embed import (
    MODEL_NAME,
    TUNED_CARD,
    TUNED_DIR,
    TUNED_FILE,
    TUNED_NAME,
    Embedder,
    ModelError,
    check_pipeline,
    package_model_dir,
    sha256_of,
)

TEXTS = [
    "Who called the decision catastrophic?",
    "Jessica West, principal of Ark Walworth Academy, said the officers kept pupils safe.",
    "£10bn",
    "“It’s a catastrophic decision,” she said. " * 30,  # longer than 256 tokens: truncated alike
    "",
]


def test_vectors_equal_sentence_transformers_encode_with_the_same_weights() -> None:
    from safetensors.torch import load_file
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(package_model_dir()), device="cpu", local_files_only=True)
    base = Embedder.load(tuned_dir=None, bf16=False)
    want = reference.encode(TEXTS, batch_size=2, normalize_embeddings=True, convert_to_numpy=True)
    assert np.abs(base.encode(TEXTS, batch_size=2) - want).max() < 1e-5

    tuned = {k: v.float() for k, v in load_file(str(TUNED_DIR / TUNED_FILE)).items()}
    reference[0].auto_model.load_state_dict(tuned, strict=False)
    want = reference.encode(TEXTS, batch_size=2, normalize_embeddings=True, convert_to_numpy=True)
    got = Embedder.load(bf16=False).encode(TEXTS, batch_size=2)
    assert got.shape == (len(TEXTS), 384) and got.dtype == np.float32
    assert np.abs(got - want).max() < 1e-5
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_the_fine_tuned_layers_are_laid_over_the_base_and_recorded(embedder) -> None:
    base = Embedder.load(tuned_dir=None)
    assert base.info.name == MODEL_NAME and embedder.info.name == TUNED_NAME
    assert embedder.info.sha256 == sha256_of(TUNED_DIR / TUNED_FILE) != base.info.sha256
    # Different vectors, the same word-embedding matrix (the reader shares it).
    assert np.abs(embedder.encode(TEXTS[:2]) - base.encode(TEXTS[:2])).max() > 1e-3
    assert bool((embedder.word_embeddings() == base.word_embeddings()).all())


def test_fine_tuned_weights_are_refused_when_changed_or_missing(tmp_path) -> None:
    folder = tmp_path / "tuned"
    shutil.copytree(TUNED_DIR, folder)
    weights = folder / TUNED_FILE
    weights.write_bytes(weights.read_bytes() + b"\x00")
    with pytest.raises(ModelError, match="Refusing"):
        Embedder.load(tuned_dir=folder)
    weights.unlink()
    with pytest.raises(ModelError, match="make train"):
        Embedder.load(tuned_dir=folder)
    (folder / TUNED_CARD).unlink()
    with pytest.raises(ModelError, match="card"):
        Embedder.load(tuned_dir=folder)


def test_batching_and_order_do_not_change_a_vector() -> None:
    fp32 = Embedder.load(bf16=False)
    alone = fp32.encode([TEXTS[1]])[0]
    mixed = fp32.encode(TEXTS, batch_size=3)[1]
    assert np.abs(alone - mixed).max() < 1e-5


def test_bf16_layers_give_the_float32_vectors_to_a_cosine_of_0_9995(embedder) -> None:
    """The served model (bf16 layers where the CPU has them) ranks as float32 does: an index built
    either way answers alike, in any batch (bf16 rounding moves a vector ~1e-3 per coordinate)."""
    fp32 = Embedder.load(bf16=False).encode(TEXTS, batch_size=3)
    bf16 = Embedder.load(bf16=True)
    assert bf16.word_embeddings().dtype == embedder.word_embeddings().dtype  # the reader's input stays float32
    for batch in (1, 3):
        got = bf16.encode(TEXTS, batch_size=batch)
        assert got.dtype == np.float32 and np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        assert (got * fp32).sum(axis=1).min() > 0.9995
    assert embedder.info == bf16.info  # the same model, whatever the arithmetic
    assert embedder.encode([]).shape == (0, 384)


def _copy_config(tmp_path: Path) -> Path:
    src = package_model_dir()
    dst = tmp_path / "model"
    (dst / "1_Pooling").mkdir(parents=True)
    for name in ("modules.json", "sentence_bert_config.json", "1_Pooling/config.json"):
        shutil.copy(src / name, dst / name)
    return dst


def test_pipeline_check_accepts_the_bundled_model_and_refuses_other_pooling(tmp_path) -> None:
    assert check_pipeline(package_model_dir()) == 256
    folder = _copy_config(tmp_path)
    pooling = folder / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    pooling.write_text(json.dumps(config))
    with pytest.raises(ModelError, match="mean pooling"):
        check_pipeline(folder)


def test_pipeline_check_names_a_missing_configuration(tmp_path) -> None:
    folder = _copy_config(tmp_path)
    (folder / "modules.json").unlink()
    with pytest.raises(ModelError, match="Reinstall"):
        check_pipeline(folder)
