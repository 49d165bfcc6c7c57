"""``Sequential``: a named group of layers, so a recipe can nest names as torchvision's modules do.

    features:
      type: Sequential
      layers:
        - {type: ConvNormAct, out_channels: 32, kernel_size: 3, stride: 2, activation: ReLU6}
        - {type: InvertedResidual, out_channels: 24, expand_ratio: 6, stride: 2, times: 2}
    # -> features.0.0.weight, features.0.1.gamma, features.1.conv.0.0.weight, features.2.conv...

``layers`` is a mapping (its keys become parameter names) or a list (named ``0, 1, ...``).
In a list, ``times: N`` on an item puts N copies of it in place (the numbering continues);
the copies after the first get ``stride: 1``, as in the stages of MobileNet and EfficientNet.
"""
from __future__ import annotations

from typing import Any

from mindspore import nn

from mm_train.core.errors import ConfigError
from mm_train.registry import BLOCKS


def expand_times(layers: Any, where: str) -> Any:
    """A list with every ``{..., times: N}`` item written out N times (later copies with stride 1)."""
    if not isinstance(layers, list):
        return layers
    out = []
    for i, spec in enumerate(layers):
        if not isinstance(spec, dict) or "times" not in spec:
            out.append(spec)
            continue
        times = spec["times"]
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ConfigError(f"{where}[{i}].times", f"got {times!r}", expected="a whole number >= 1")
        one = {k: v for k, v in spec.items() if k != "times"}
        out.append(one)
        out += [{**one, "stride": 1} if "stride" in one else one] * (times - 1)
    return out


@BLOCKS.register("Sequential")
def sequential(in_shape, layers: Any):
    """Layers applied in turn under this layer's name; ``layers``: a mapping or a list of block specs
    (list items may carry ``times: N``)."""
    from mm_train.nn.compose import build_layers

    cells, shape, _ = build_layers(expand_times(layers, ".layers"), tuple(in_shape), ".layers")
    return nn.SequentialCell(cells), shape
