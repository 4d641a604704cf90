"""The BERT encoder under all-MiniLM-L6-v2 and the reader, for inference, in plain ``torch.nn``.

Why not ``transformers.BertModel``: importing transformers' modelling code pulls in
``torch._dynamo``, sympy, ``torch.distributed`` and scipy.optimize (1,600 modules), 126 MB of a
serving process's RSS against a 700 MB budget, for a network this small. The layers here are
torch's own (``nn.Linear``, ``nn.LayerNorm``, ``nn.functional.scaled_dot_product_attention``,
exact-erf GELU), laid out under transformers' parameter names so the same safetensors files load
unchanged, and ``tests/index/test_bert.py`` checks the outputs equal ``BertModel``'s. Training
keeps transformers (dropout, gradient paths); this module only reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn


@dataclass(frozen=True)
class BertConfig:
    """The fields of a BERT ``config.json`` that inference reads."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float

    @classmethod
    def read(cls, folder: Path, layers: int | None = None) -> BertConfig:
        raw = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        if raw.get("hidden_act", "gelu") != "gelu" or raw.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{folder} is not a plain BERT (gelu, absolute positions)")
        config = cls(**{k: raw[k] for k in cls.__dataclass_fields__})
        return config if layers is None else replace(config, num_hidden_layers=layers)


@dataclass
class EncoderOutput:
    last_hidden_state: torch.Tensor


class Embeddings(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        return self.LayerNorm(x + self.position_embeddings(positions))


class SelfAttention(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.heads = c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        shape = (*x.shape[:-1], self.heads, -1)
        q, k, v = (f(x).view(shape).transpose(1, 2) for f in (self.query, self.key, self.value))
        out = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return out.transpose(1, 2).reshape(*x.shape[:-1], -1)


class Output(nn.Module):
    """A projection added back to its input, then normalised (BERT's post-norm residual)."""

    def __init__(self, c: BertConfig, width: int):
        super().__init__()
        self.dense = nn.Linear(width, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(x) + residual)


class Attention(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.self = SelfAttention(c)
        self.output = Output(c, c.hidden_size)


class Intermediate(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)


class Layer(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = Output(c, c.intermediate_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        x = self.attention.output(self.attention.self(x, mask), x)
        return self.output(nn.functional.gelu(self.intermediate.dense(x)), x)


class Encoder(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(Layer(c) for _ in range(c.num_hidden_layers))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        for layer in self.layer:
            x = layer(x, mask)
        return x


class Bert(nn.Module):
    """``BertModel`` without its pooler, for inference: same parameter names, same outputs."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.encoder = Encoder(config)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> EncoderOutput:
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.embeddings(input_ids, token_type_ids)
        # As transformers does: no mask when nothing is padded (SDPA's faster path), else a boolean
        # one (True = attend) broadcast over heads and query positions.
        mask = None if bool(attention_mask.all()) else attention_mask.bool()[:, None, None, :]
        return EncoderOutput(self.encoder(x, mask))
