"""index.bert: the network the embedder and the reader run on, against transformers' BertModel."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file
from transformers import BertConfig as TransformersConfig
from transformers import BertModel

from index.bert import Bert, BertConfig
from index.embed import ModelError, build_bert, package_model_dir

BASE = package_model_dir()
TEXTS = ["Who called the decision catastrophic?",
         "Superintendent Matt Cox told the London Assembly: “This is about embedding the 371 school officers.”",
         "No."]


def _pair(layers: int) -> tuple[Bert, BertModel]:
    beyond = tuple(f"encoder.layer.{i}." for i in range(layers, 6))
    state = {k: v for k, v in load_file(str(BASE / "model.safetensors")).items()
             if not k.startswith(("pooler.", "embeddings.position_ids", *beyond))}
    ours = build_bert(BertConfig.read(BASE, layers), state, "test")
    config = TransformersConfig.from_pretrained(str(BASE), local_files_only=True)
    config.num_hidden_layers = layers
    theirs = BertModel.from_pretrained(str(BASE), config=config, add_pooling_layer=False,
                                       local_files_only=True).eval()
    return ours, theirs


@pytest.mark.parametrize("layers", [6, 4])
def test_outputs_equal_transformers_bert_exactly_padded_or_not_and_in_pairs(layers: int) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(BASE), local_files_only=True)
    ours, theirs = _pair(layers)
    batches = [tokenizer(TEXTS, padding=True, return_tensors="pt"),  # padded: a boolean mask
               tokenizer(TEXTS[:1], return_tensors="pt"),  # nothing padded: no mask
               tokenizer(TEXTS[:2], TEXTS[1:], padding=True, return_tensors="pt")]  # the reader's pairs
    with torch.inference_mode():
        for features in batches:
            mine, reference = ours(**features).last_hidden_state, theirs(**features).last_hidden_state
            real = features["attention_mask"].bool()  # padded positions are never read (mean pooling)
            assert torch.equal(mine[real], reference[real])


def test_a_state_that_lacks_or_adds_a_parameter_is_refused() -> None:
    state = {k: v for k, v in load_file(str(BASE / "model.safetensors")).items()
             if not k.startswith(("pooler.", "embeddings.position_ids"))}
    config = BertConfig.read(BASE)
    with pytest.raises(ModelError, match="missing.*encoder.layer.5.output.dense.weight"):
        build_bert(config, {k: v for k, v in state.items() if k != "encoder.layer.5.output.dense.weight"}, "test")
    with pytest.raises(ModelError, match="unexpected.*pooler.dense.weight"):
        build_bert(config, {**state, "pooler.dense.weight": torch.zeros(384, 384)}, "test")


def test_only_plain_bert_configurations_are_read(tmp_path) -> None:
    (tmp_path / "config.json").write_text((BASE / "config.json").read_text().replace('"gelu"', '"relu"'))
    with pytest.raises(ValueError, match="not a plain BERT"):
        BertConfig.read(tmp_path)


def test_loading_the_models_does_not_import_transformers_modelling_code() -> None:
    # What the served process imports: transformers' modelling code held 126 MB of its RSS.
    code = ("import sys\nfrom index.embed import Embedder\nfrom index.search.reader import Reader\n"
            "e = Embedder.load()\nReader.load(word_embeddings=e.word_embeddings(), tokenize=e.tokenize)\n"
            "print(sorted(m for m in sys.modules if m in ('transformers.modeling_utils', 'torch._dynamo', 'sympy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"
