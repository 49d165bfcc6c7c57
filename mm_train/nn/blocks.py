"""The project's own blocks: ConvBNReLU, BasicBlock, ResidualBlock (bottleneck), Stage, Residual, Repeat,
GlobalAvgPool.

Parameter names follow the MindSpore model zoo's ResNet (official/cv/ResNet/src/resnet.py),
so zoo checkpoints load by name::

    layer1: {type: Stage, block: ResidualBlock, repeat: 3, out_channels: 256, stride: 1}
    # -> layer1.0.conv1.weight, layer1.0.bn1.gamma, layer1.0.down_sample_layer.0.weight, ...

``style: torchvision`` gives torchvision's names instead (``bn1``/``bn2`` in BasicBlock,
``downsample.0`` for the projection shortcut); the structure is the same.
"""
from __future__ import annotations

from typing import Any, Literal, Mapping, Optional

from mindspore import nn, ops

from mm_train.core.argtypes import MAX_REPEAT, PadMode, PositiveInt, Repeats, Size
from mm_train.core.errors import ConfigError
from mm_train.nn.shapes import ShapeMismatch, expect_chw, spatial_out
from mm_train.registry import BLOCKS, check_arguments

Style = Literal["zoo", "torchvision"]
STYLES = {"zoo": {"shortcut": "down_sample_layer", "bn": ("bn1d", "bn2d")},
          "torchvision": {"shortcut": "downsample", "bn": ("bn1", "bn2")}}


def _bn(channels, eps, momentum, gamma_init="ones"):
    return nn.BatchNorm2d(channels, eps=eps, momentum=momentum, gamma_init=gamma_init)


def _conv(cin, cout, kernel, stride, pad_mode):
    padding = kernel // 2 if pad_mode == "pad" else 0
    return nn.Conv2d(cin, cout, kernel, stride=stride, pad_mode=pad_mode, padding=padding)


def _style(style) -> dict:
    if style not in STYLES:
        raise ConfigError(".style", f"unknown style {style!r}", expected=f"one of {list(STYLES)}")
    return STYLES[style]


class ConvBNAct(nn.Cell):
    """conv -> bn -> activation (ReLU)."""

    def __init__(self, cin, cout, kernel, stride, pad_mode, eps, momentum, activation=True):
        super().__init__()
        self.conv = _conv(cin, cout, kernel, stride, pad_mode)
        self.bn = _bn(cout, eps, momentum)
        self.relu = nn.ReLU() if activation else nn.Identity()

    def construct(self, x):
        return self.relu(self.bn(self.conv(x)))


@BLOCKS.register("ConvBNReLU")
def conv_bn_relu(in_shape, out_channels: PositiveInt, kernel_size: PositiveInt = 3, stride: Size = 1,
                 pad_mode: PadMode = "same", eps: float = 1e-5, momentum: float = 0.9):
    c, h, w = expect_chw(in_shape, "ConvBNReLU")
    padding = kernel_size // 2 if pad_mode == "pad" else 0
    out = spatial_out((h, w), kernel_size, stride, pad_mode, padding, 1, "ConvBNReLU")
    return ConvBNAct(c, out_channels, kernel_size, stride, pad_mode, eps, momentum), (out_channels, *out)


class _Shortcut(nn.Cell):
    """Base of the residual blocks: the projection shortcut is a child under a style-given name."""

    def _set_shortcut(self, name, cell):
        self.down_sample = cell is not None
        if cell is not None:
            self.insert_child_to_cell(name, cell)
        self.shortcut_cells = [cell] if cell is not None else []   # a plain list: no second name

    def _identity(self, x):
        if self.down_sample:
            return self.shortcut_cells[0](x)
        return x


def _projection(cin, cout, stride, pad_mode, eps, momentum):
    if stride == 1 and cin == cout:
        return None
    return nn.SequentialCell([_conv(cin, cout, 1, stride, pad_mode), _bn(cout, eps, momentum)])


class Bottleneck(_Shortcut):
    """ResNet v1.5 bottleneck: 1x1 -> 3x3 (carries the stride) -> 1x1 (x expansion), plus shortcut;
    ``stride_on="1x1"``: ResNet v1, the first 1x1 carries the stride."""

    def __init__(self, cin, cout, stride, expansion, pad_mode, eps, momentum, zero_init_last_bn, style="zoo",
                 stride_on="3x3"):
        super().__init__()
        channels = cout // expansion
        first = stride if stride_on == "1x1" else 1          # ResNet v1 (Keras, Caffe): stride on the first 1x1
        self.conv1 = _conv(cin, channels, 1, first, pad_mode)
        self.bn1 = _bn(channels, eps, momentum)
        self.conv2 = _conv(channels, channels, 3, stride if first == 1 else 1, pad_mode)
        self.bn2 = _bn(channels, eps, momentum)
        self.conv3 = _conv(channels, cout, 1, 1, pad_mode)
        self.bn3 = _bn(cout, eps, momentum, "zeros" if zero_init_last_bn else "ones")
        self.relu = nn.ReLU()
        self._set_shortcut(STYLES[style]["shortcut"], _projection(cin, cout, stride, pad_mode, eps, momentum))

    def construct(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self._identity(x))


@BLOCKS.register("ResidualBlock")
def residual_block(in_shape, out_channels: PositiveInt, stride: PositiveInt = 1, expansion: PositiveInt = 4,
                   pad_mode: PadMode = "same", eps: float = 1e-4, momentum: float = 0.9,
                   zero_init_last_bn: bool = False, style: Style = "zoo",
                   stride_on: Literal["3x3", "1x1"] = "3x3"):
    """The zoo's ResidualBlock (bottleneck). ``zero_init_last_bn`` starts bn3's gamma at 0 (zoo ResNet-152);
    ``stride_on: 1x1`` puts the stride on the first 1x1 conv (ResNet v1, as Keras's ResNet50)."""
    c, h, w = expect_chw(in_shape, "ResidualBlock")
    _style(style)
    if out_channels % expansion:
        raise ShapeMismatch(f"ResidualBlock out_channels {out_channels} is not a multiple of expansion {expansion}")
    out = spatial_out((h, w), 3, stride, pad_mode, 1 if pad_mode == "pad" else 0, 1, "ResidualBlock")
    cell = Bottleneck(c, out_channels, stride, expansion, pad_mode, eps, momentum, zero_init_last_bn, style,
                      stride_on)
    return cell, (out_channels, *out)


class Basic(_Shortcut):
    """ResNet-18/34 block: 3x3 (carries the stride) -> 3x3, plus shortcut (the zoo's ResidualBlockBase)."""

    def __init__(self, cin, cout, stride, pad_mode, eps, momentum, shortcut_eps, shortcut_momentum, style):
        super().__init__()
        bn1, bn2 = STYLES[style]["bn"]
        self.conv1 = _conv(cin, cout, 3, stride, pad_mode)
        self.insert_child_to_cell(bn1, _bn(cout, eps, momentum))
        self.conv2 = _conv(cout, cout, 3, 1, pad_mode)
        self.insert_child_to_cell(bn2, _bn(cout, eps, momentum))
        self.bns = [getattr(self, bn1), getattr(self, bn2)]
        self.relu = nn.ReLU()
        self._set_shortcut(STYLES[style]["shortcut"],
                           _projection(cin, cout, stride, pad_mode, shortcut_eps, shortcut_momentum))

    def construct(self, x):
        out = self.relu(self.bns[0](self.conv1(x)))
        out = self.bns[1](self.conv2(out))
        return self.relu(out + self._identity(x))


@BLOCKS.register("BasicBlock")
def basic_block(in_shape, out_channels: PositiveInt, stride: PositiveInt = 1, pad_mode: PadMode = "pad",
                eps: float = 1e-4, momentum: float = 0.9, shortcut_eps: Optional[float] = None,
                shortcut_momentum: Optional[float] = None, style: Style = "zoo"):
    """Two 3x3 convs; ``shortcut_eps``/``shortcut_momentum`` (default: eps/momentum) for the projection's BN."""
    c, h, w = expect_chw(in_shape, "BasicBlock")
    _style(style)
    out = spatial_out((h, w), 3, stride, pad_mode, 1 if pad_mode == "pad" else 0, 1, "BasicBlock")
    cell = Basic(c, out_channels, stride, pad_mode, eps, momentum,
                 eps if shortcut_eps is None else shortcut_eps,
                 momentum if shortcut_momentum is None else shortcut_momentum, style)
    return cell, (out_channels, *out)


# Stage's argument convention: these of its own arguments its blocks get too, with every key Stage does not take
# (checked before building by mm_train.nn.validate with the same rule)
PASSED_ON = ("out_channels", "stride")


@BLOCKS.register("Stage")
def stage(in_shape, block: str, repeat: Repeats, out_channels: PositiveInt, stride: PositiveInt = 1,
          **block_args):
    """``repeat`` copies of ``block``; the first carries the stride, channels flow through."""
    factory = BLOCKS.get(block, ".block")
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= MAX_REPEAT:
        raise ConfigError(".repeat", f"got {repeat!r}", expected=f"a whole number from 1 to {MAX_REPEAT}")
    passed = dict(zip(PASSED_ON, (out_channels, stride)))
    check_arguments(factory, {**passed, **block_args}, "", skip=1)
    cells, shape = [], tuple(in_shape)
    for i in range(repeat):
        try:
            cell, shape = factory(shape, out_channels=out_channels, stride=stride if i == 0 else 1, **block_args)
        except ShapeMismatch as err:
            raise ShapeMismatch(f"block {i} of {repeat} ({block}, stride {stride if i == 0 else 1}, input shape "
                                f"{tuple(shape)}): {err}") from None
        cells.append(cell)
    return nn.SequentialCell(cells), shape


class ResidualCell(nn.Cell):
    """``activation(body(x) + shortcut(x))``; body children are named by the recipe's keys."""

    def __init__(self, body, shortcut_name, shortcut, activation):
        super().__init__()
        for name, cell in body.items():
            self.insert_child_to_cell(name, cell)
        self.body = list(body.values())                     # a plain list: no second name
        self.down_sample = shortcut is not None
        if shortcut is not None:
            self.insert_child_to_cell(shortcut_name, shortcut)
        self.shortcut_cells = [shortcut] if shortcut is not None else []
        self.activation = activation if activation is not None else nn.Identity()

    def construct(self, x):
        out = x
        for cell in self.body:
            out = cell(out)
        identity = x
        if self.down_sample:
            identity = self.shortcut_cells[0](x)
        return self.activation(out + identity)


@BLOCKS.register("Residual")
def residual(in_shape, body, shortcut=None, shortcut_name="shortcut", activation="ReLU"):
    """A skip connection written in YAML: ``activation(body(x) + shortcut(x))``.

        block: {type: Residual, shortcut_name: down_sample_layer,
                body: {conv1: {type: Conv2d, out_channels: 64, kernel_size: 3, stride: 2},
                       bn1: {type: BatchNorm2d}, relu: {type: ReLU},
                       conv2: {type: Conv2d, out_channels: 64, kernel_size: 3}, bn2: {type: BatchNorm2d}},
                shortcut: [{type: Conv2d, out_channels: 64, kernel_size: 1, stride: 2}, {type: BatchNorm2d}]}

    ``body`` / ``shortcut``: a mapping (names become parameter names) or a list of block specs;
    no ``shortcut`` is the identity. ``activation``: a block name applied after the sum, or null.
    """
    from mm_train.nn.compose import build_layers, build_one

    in_shape = tuple(in_shape)
    body_cells, body_shape, _ = build_layers(body, in_shape, ".body")
    if shortcut_name in body_cells:
        raise ConfigError(".shortcut_name", f"'{shortcut_name}' is also a name in body",
                          expected="a name not used by a body layer")
    short, short_shape = None, in_shape
    if shortcut is not None:
        cells, short_shape, _ = build_layers(shortcut, in_shape, ".shortcut")
        short = nn.SequentialCell(cells if isinstance(shortcut, dict) else list(cells.values()))
    if body_shape != short_shape:
        raise ShapeMismatch(f"Residual body gives shape {body_shape} but the shortcut gives {short_shape}"
                            + (" (the identity: no shortcut given); add a shortcut that maps "
                               f"{in_shape} to {body_shape}" if shortcut is None else "")
                            + ": both must be equal to be added")
    act = None
    if activation is not None:
        spec = {"type": activation} if isinstance(activation, str) else activation
        act, _ = build_one(spec, ".activation", body_shape)
    return ResidualCell(body_cells, shortcut_name, short, act), body_shape


@BLOCKS.register("Repeat")
def repeat_block(in_shape, block: Mapping[str, Any], repeat: Repeats):
    """``repeat`` copies of any block spec (a ``Residual`` written in YAML, say), named ``0 .. repeat-1``.

        layer1: {type: Repeat, repeat: 3, block: {type: Residual, body: [...]}}
    """
    from mm_train.nn.compose import build_layers

    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= MAX_REPEAT:
        raise ConfigError(".repeat", f"got {repeat!r}", expected=f"a whole number from 1 to {MAX_REPEAT}")
    if not isinstance(block, dict):
        raise ConfigError(".block", f"got {block!r}", expected="a block spec {type: BLOCK, ...}")
    try:
        cells, shape, _ = build_layers([block] * repeat, in_shape, ".block")
    except ConfigError as err:   # copies share one spec: name its keys (".block.drop_path"), not a list
        for problem in err.problems:
            copy, _, rest = problem.where.partition("]")
            if copy.startswith(".block["):
                problem.where = ".block" + rest
                if copy != ".block[0":
                    problem.problem += f" (in copy {copy[len('.block['):]} of {repeat})"
        err.args = (str(err),)
        raise
    return nn.SequentialCell(list(cells.values())), shape


class GlobalAvgPoolCell(nn.Cell):
    def construct(self, x):
        return ops.mean(x, (2, 3), keep_dims=False)


@BLOCKS.register("GlobalAvgPool")
def global_avg_pool(in_shape):
    c, _, _ = expect_chw(in_shape, "GlobalAvgPool")
    return GlobalAvgPoolCell(), (c,)
