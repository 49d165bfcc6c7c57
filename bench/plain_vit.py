"""ViT-B/16 written by hand in plain MindSpore (bench/memory.py's hand-written baseline).

torchvision's architecture: 16x16 patch conv, class token, learned position embedding,
pre-norm blocks (LayerNorm eps 1e-6; attention as one qkv Dense, batched matmuls and a
softmax; exact-GELU MLP), final LayerNorm, class-token head.

    net = ViT(depth=12)            # 86,567,656 parameters with 1000 classes
"""
import numpy as np
import mindspore as ms
from mindspore import nn, ops


class Attention(nn.Cell):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.qkv = nn.Dense(dim, 3 * dim)
        self.proj = nn.Dense(dim, dim)
        self.scale = self.head_dim ** -0.5

    def construct(self, x):
        n, t, d = x.shape
        qkv = ops.reshape(self.qkv(x), (n, t, 3, self.heads, self.head_dim))
        qkv = ops.transpose(qkv, (2, 0, 3, 1, 4))          # 3, n, heads, t, head_dim
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ops.softmax(ops.matmul(q * self.scale, ops.transpose(k, (0, 1, 3, 2))), axis=-1)
        out = ops.transpose(ops.matmul(attn, v), (0, 2, 1, 3))
        return self.proj(ops.reshape(out, (n, t, d)))


class Block(nn.Cell):
    def __init__(self, dim, heads, mlp_dim):
        super().__init__()
        self.ln_1 = nn.LayerNorm((dim,), epsilon=1e-6)
        self.attn = Attention(dim, heads)
        self.ln_2 = nn.LayerNorm((dim,), epsilon=1e-6)
        self.mlp = nn.SequentialCell([nn.Dense(dim, mlp_dim), nn.GELU(approximate=False), nn.Dense(mlp_dim, dim)])

    def construct(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class ViT(nn.Cell):
    def __init__(self, depth=12, dim=768, heads=12, mlp_dim=3072, patch=16, image=224, classes=1000):
        super().__init__()
        tokens = (image // patch) ** 2 + 1
        self.patch = nn.Conv2d(3, dim, patch, stride=patch, pad_mode="valid", has_bias=True)
        self.cls = ms.Parameter(ms.Tensor(np.zeros((1, 1, dim), np.float32)), name="cls")
        self.pos = ms.Parameter(ms.Tensor(np.random.default_rng(0).normal(0, 0.02, (1, tokens, dim)).astype(np.float32)),
                                name="pos")
        self.blocks = nn.SequentialCell([Block(dim, heads, mlp_dim) for _ in range(depth)])
        self.ln = nn.LayerNorm((dim,), epsilon=1e-6)
        self.head = nn.Dense(dim, classes)

    def construct(self, x):
        y = self.patch(x)
        n, c = y.shape[0], y.shape[1]
        y = ops.transpose(ops.reshape(y, (n, c, -1)), (0, 2, 1))
        y = ops.concat((ops.broadcast_to(self.cls, (n, 1, c)), y), axis=1) + self.pos
        y = self.ln(self.blocks(y))
        return self.head(y[:, 0])
