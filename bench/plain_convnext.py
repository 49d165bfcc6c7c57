"""ConvNeXt-T written by hand in plain MindSpore (bench/memory.py's hand-written baseline).

torchvision's architecture, written the way a MindSpore user ports it: 4x4 stem conv + channel
LayerNorm, stages of 3, 3, 9, 3 blocks (7x7 depthwise conv, NHWC LayerNorm eps 1e-6, Dense 4x,
exact GELU, Dense, layer scale 1e-6, stochastic depth 0 -> 0.1 over the 18 blocks), downsampling
by channel LayerNorm + 2x2 conv, global average pool, LayerNorm, head.

    net = ConvNeXtTiny()           # 28,589,128 parameters with 1000 classes
"""
import numpy as np
import mindspore as ms
from mindspore import nn, ops


class ChannelLayerNorm(nn.Cell):
    """LayerNorm over the channels of NCHW input."""

    def __init__(self, channels):
        super().__init__()
        self.norm = nn.LayerNorm((channels,), epsilon=1e-6)

    def construct(self, x):
        return ops.transpose(self.norm(ops.transpose(x, (0, 2, 3, 1))), (0, 3, 1, 2))


class Block(nn.Cell):
    def __init__(self, dim, drop):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, pad_mode="pad", padding=3, group=dim, has_bias=True)
        self.norm = nn.LayerNorm((dim,), epsilon=1e-6)
        self.fc1 = nn.Dense(dim, 4 * dim)
        self.act = nn.GELU(approximate=False)
        self.fc2 = nn.Dense(4 * dim, dim)
        self.gamma = ms.Parameter(ms.Tensor(np.full((dim,), 1e-6, np.float32)), name="gamma")
        self.drop, self.keep = drop, 1.0 - drop
        self.uniform = ops.UniformReal()

    def construct(self, x):
        y = ops.transpose(self.dwconv(x), (0, 2, 3, 1))
        y = self.gamma * self.fc2(self.act(self.fc1(self.norm(y))))
        y = ops.transpose(y, (0, 3, 1, 2))
        if self.training and self.drop > 0:
            y = y * ops.floor(self.uniform((y.shape[0], 1, 1, 1)) + self.keep) / self.keep
        return x + y


class ConvNeXtTiny(nn.Cell):
    def __init__(self, classes=1000, depths=(3, 3, 9, 3), dims=(96, 192, 384, 768), drop_path=0.1):
        super().__init__()
        rates = np.linspace(0, drop_path, sum(depths)).tolist()
        layers = [nn.Conv2d(3, dims[0], 4, stride=4, pad_mode="valid", has_bias=True), ChannelLayerNorm(dims[0])]
        for i, (depth, dim) in enumerate(zip(depths, dims)):
            if i:
                layers += [ChannelLayerNorm(dims[i - 1]),
                           nn.Conv2d(dims[i - 1], dim, 2, stride=2, pad_mode="valid", has_bias=True)]
            layers += [Block(dim, rates.pop(0)) for _ in range(depth)]
        self.features = nn.SequentialCell(layers)
        self.norm = nn.LayerNorm((dims[-1],), epsilon=1e-6)
        self.head = nn.Dense(dims[-1], classes)

    def construct(self, x):
        return self.head(self.norm(self.features(x).mean((2, 3))))
