"""The vision transformer's parts: patch embedding, class token, position embedding, the pre-norm
encoder block (multi-head attention and a GELU MLP) and the class-token readout.

    conv_proj: {type: PatchEmbedding, hidden_dim: 768, patch_size: 16}   # (3, 224, 224) -> (196, 768)
    class_token: {type: ClassToken}                                      # -> (197, 768)
    encoder:
      type: Sequential
      layers:
        pos_embedding: {type: PositionEmbedding}
        layers: {type: Repeat, repeat: 12, block: {type: EncoderBlock, num_heads: 12, mlp_dim: 3072}}
        ln: {type: LayerNorm, eps: 1.0e-6}
    token: {type: SelectToken}                                           # -> (768,)
    heads: {type: Sequential, layers: {head: {type: Dense, out_channels: 1000}}}

Token sequences are ``(tokens, dim)`` per sample. The attention is :class:`SelfAttention`:
``nn.MultiheadAttention``'s parameters and initialisation (``in_proj_weight``, ``in_proj_bias``,
``out_proj``: torch's layout), computed as 2-D matmuls. MindSpore's own cell (2.10) projects
sequence-first ``(tokens, N, dim)`` input with a batched matmul that broadcasts each weight
to ``tokens`` copies in graph mode: about 3.2 GB and a 10x slower step per ViT-B/16 block on
the CPU, whatever the batch (``python bench/memory.py --models vit_b_16 --depth 1 --batch 2``).
"""
from __future__ import annotations

import math

import numpy as np
import mindspore as ms
from mindspore import nn, ops
from mindspore.common.initializer import HeUniform, Uniform, XavierUniform, initializer

from mm_train.core.argtypes import NonNegativeInt, PositiveInt
from mm_train.core.errors import ConfigError
from mm_train.nn.norms import layer_norm
from mm_train.nn.shapes import ShapeMismatch, expect_chw, spatial_out
from mm_train.nn.stochastic_depth import DropRate, StochasticDepthCell, check_p
from mm_train.registry import BLOCKS


def _tokens(in_shape, name) -> tuple[int, int]:
    if len(in_shape) != 2:
        raise ShapeMismatch(f"{name} needs a (tokens, dim) input but gets shape {tuple(in_shape)}; "
                            "put a PatchEmbedding before it")
    return int(in_shape[0]), int(in_shape[1])


def _dropout(p: float, where: str):
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
        raise ConfigError(where, f"got {p!r}", expected="a drop probability, 0 <= p < 1")
    return nn.Dropout(p=float(p)) if p > 0 else nn.Identity()


class PatchEmbeddingCell(nn.Conv2d):
    """A conv with kernel = stride = patch size, its output as a sequence ``(N, patches, hidden)``."""

    def construct(self, x):
        y = super().construct(x)
        n, c = y.shape[0], y.shape[1]
        return ops.transpose(ops.reshape(y, (n, c, -1)), (0, 2, 1))


@BLOCKS.register("PatchEmbedding")
def patch_embedding(in_shape, hidden_dim: PositiveInt, patch_size: PositiveInt):
    """Cut the image into ``patch_size`` squares and project each to ``hidden_dim`` (torchvision's
    ``conv_proj``: parameters ``weight``, ``bias``)."""
    c, h, w = expect_chw(in_shape, "PatchEmbedding")
    if h % patch_size or w % patch_size:
        raise ShapeMismatch(f"PatchEmbedding: the {h}x{w} image is not a whole number of {patch_size}x{patch_size} "
                            "patches")
    oh, ow = spatial_out((h, w), patch_size, patch_size, "valid", 0, 1, "PatchEmbedding")
    cell = PatchEmbeddingCell(c, hidden_dim, patch_size, stride=patch_size, pad_mode="valid", has_bias=True)
    return cell, (oh * ow, hidden_dim)


class ClassTokenCell(nn.Cell):
    init_name = "ClassToken"    # network.init: {ClassToken: {token: "TruncatedNormal(sigma=0.02)"}}

    def __init__(self, dim):
        super().__init__()
        self.token = ms.Parameter(ms.Tensor(np.zeros((1, 1, dim), np.float32)), name="token")

    def construct(self, x):
        token = ops.broadcast_to(self.token, (x.shape[0], 1, self.token.shape[2]))
        return ops.concat((token, x), axis=1)


@BLOCKS.register("ClassToken")
def class_token(in_shape):
    """Put a learned token (parameter ``token`` [1, 1, dim], zeros) in front of the sequence."""
    tokens, dim = _tokens(in_shape, "ClassToken")
    return ClassTokenCell(dim), (tokens + 1, dim)


class PositionEmbeddingCell(nn.Cell):
    init_name = "PositionEmbedding"

    def __init__(self, tokens, dim, std):
        super().__init__()
        values = np.random.default_rng(0).normal(0.0, std, (1, tokens, dim)).astype(np.float32)
        self.embedding = ms.Parameter(ms.Tensor(values), name="embedding")

    def construct(self, x):
        return x + self.embedding


@BLOCKS.register("PositionEmbedding")
def position_embedding(in_shape, std: float = 0.02):
    """Add a learned embedding per position (parameter ``embedding`` [1, tokens, dim], normal(0, std))."""
    tokens, dim = _tokens(in_shape, "PositionEmbedding")
    return PositionEmbeddingCell(tokens, dim, std), (tokens, dim)


class SelfAttention(nn.Cell):
    """Multi-head self-attention on ``(N, tokens, dim)``: ``nn.MultiheadAttention(dim, heads, dropout,
    batch_first=True)(x, x, x)[0]`` with the same parameters, as 2-D matmuls (no broadcast weights)."""

    init_name = "MultiheadAttention"   # network.init: {MultiheadAttention: {in_proj_weight: ...}}

    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.in_proj_weight = ms.Parameter(initializer(XavierUniform(), (3 * dim, dim), ms.float32), "in_proj_weight")
        self.in_proj_bias = ms.Parameter(initializer("zeros", (3 * dim,), ms.float32), "in_proj_bias")
        self.out_proj = nn.Dense(dim, dim, weight_init=HeUniform(math.sqrt(5)), bias_init=Uniform(1 / math.sqrt(dim)))
        self.dropout = _dropout(dropout, ".attention_dropout")
        self.project = ops.MatMul(transpose_b=True)
        self.scale = float(self.head_dim) ** -0.5

    def construct(self, x):
        n, t, d = x.shape
        # BiasAdd, as nn.Dense: a broadcast '+' keeps the (N*tokens, 3*dim) product for its backward in PyNative
        # (0.1 GB per ViT-B/16 block at batch 32, bench/memory.py)
        qkv = ops.bias_add(self.project(ops.reshape(x, (n * t, d)), self.in_proj_weight), self.in_proj_bias)
        qkv = ops.transpose(ops.reshape(qkv, (n, t, 3, self.heads, self.head_dim)), (2, 0, 3, 1, 4))
        q, k, v = qkv[0], qkv[1], qkv[2]                                  # (N, heads, tokens, head_dim)
        weights = self.dropout(ops.softmax(ops.matmul(q * self.scale, ops.transpose(k, (0, 1, 3, 2))), -1))
        out = ops.reshape(ops.transpose(ops.matmul(weights, v), (0, 2, 1, 3)), (n * t, d))
        return ops.reshape(self.out_proj(out), (n, t, d))


class EncoderBlockCell(nn.Cell):
    def __init__(self, dim, heads, mlp_dim, dropout, attention_dropout, eps, drop_path=0.0, recompute=False):
        super().__init__()
        self.recompute_requested = recompute   # applied by apply_recompute once the network is built
        self.drop_path = StochasticDepthCell(drop_path)   # one rate, a new mask per branch (timm's Block)
        self.ln_1 = layer_norm(dim, eps)
        self.self_attention = SelfAttention(dim, heads, attention_dropout)
        self.dropout = _dropout(dropout, ".dropout")
        self.ln_2 = layer_norm(dim, eps)
        self.mlp = nn.SequentialCell([nn.Dense(dim, mlp_dim), nn.GELU(approximate=False),
                                      _dropout(dropout, ".dropout"), nn.Dense(mlp_dim, dim),
                                      _dropout(dropout, ".dropout")])

    def apply_recompute(self) -> None:
        """``recompute: true``, once the drop rates are final (``network.drop_path_rate`` sets them after the
        blocks are built): the whole block when nothing in it is random, else only the attention and the MLP,
        so that the backward pass uses the drop mask of the forward pass (a recomputed mask is drawn anew)."""
        if not self.recompute_requested:
            return
        self.recompute_requested = False   # MindSpore's Cell.recompute can be set once
        if self.drop_path.p == 0.0:
            self.recompute()
        else:
            self.self_attention.recompute()
            self.mlp.recompute()

    def construct(self, x):
        y = self.ln_1(x)
        y = self.self_attention(y)
        x = x + self.drop_path(self.dropout(y))
        return x + self.drop_path(self.mlp(self.ln_2(x)))


@BLOCKS.register("EncoderBlock")
def encoder_block(in_shape, num_heads: PositiveInt, mlp_dim: PositiveInt, dropout: DropRate = 0.0,
                  attention_dropout: DropRate = 0.0, eps: float = 1e-6, drop_path: DropRate = 0.0,
                  recompute: bool = False):
    """Pre-norm transformer block: ``x + drop_path(attention(ln_1(x)))``, then ``+ drop_path(mlp(ln_2(x)))``
    (Linear, exact GELU, Linear). Names as torchvision's EncoderBlock: ``ln_1``,
    ``self_attention.in_proj_weight``, ``mlp.0``, ``mlp.3``. ``drop_path``: stochastic depth of both
    branches (timm), usually set for the whole network by ``network.drop_path_rate``. ``recompute: true``:
    keep only the block's input for the backward pass and recompute the rest (MindSpore's
    ``Cell.recompute``; PyTorch's activation checkpointing): less memory, about a third more compute.
    With stochastic depth only the attention and the MLP are recomputed (the drop masks are kept); with
    dropout it is refused, as a recomputed dropout would draw a new mask for the backward pass."""
    tokens, dim = _tokens(in_shape, "EncoderBlock")
    if not isinstance(recompute, bool):
        raise ConfigError(".recompute", f"got {recompute!r}", expected="true or false")
    if dim % num_heads:
        raise ConfigError(".num_heads", f"got {num_heads} for dim {dim}", expected=f"a divisor of {dim}")
    _dropout(attention_dropout, ".attention_dropout")
    drop_path = check_p(drop_path, ".drop_path")
    if recompute and (dropout or attention_dropout):
        raise ConfigError(".recompute", f"true with dropout {dropout} and attention_dropout {attention_dropout}: "
                          "a recomputed dropout draws a new mask, so the gradients would not be the loss's",
                          expected="recompute: false, or dropout: 0 and attention_dropout: 0")
    cell = EncoderBlockCell(dim, num_heads, mlp_dim, dropout, attention_dropout, eps, drop_path, recompute)
    return cell, (tokens, dim)


class SelectTokenCell(nn.Cell):
    def __init__(self, index):
        super().__init__()
        self.index = index

    def construct(self, x):
        return x[:, self.index]


@BLOCKS.register("SelectToken")
def select_token(in_shape, index: NonNegativeInt = 0):
    """The features of one token (the class token, 0): ``(tokens, dim)`` -> ``(dim,)``."""
    tokens, dim = _tokens(in_shape, "SelectToken")
    if index >= tokens:
        raise ConfigError(".index", f"got {index} for {tokens} tokens", expected=f"0 .. {tokens - 1}")
    return SelectTokenCell(index), (dim,)
