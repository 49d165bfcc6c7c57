"""Turn the ``network`` section of a recipe into a Cell.

    network:
      input_shape: [3, 32, 32]          # one sample, channels first
      layers:                           # the names become parameter names
        conv1: {type: Conv2d, out_channels: 64, kernel_size: 3}
        relu:  {type: ReLU}
        pool:  {type: GlobalAvgPool}
        fc:    {type: Dense, out_channels: 10}

``in_channels`` / ``in_features`` are never written: each layer's factory gets
the output shape of the previous one.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping

from mm_train.errors import ConfigError
from mm_train.nn.shapes import ShapeMismatch
from mm_train.registry import BLOCKS

NETWORK_KEYS = ("input_shape", "layers")


@dataclass
class LayerInfo:
    name: str
    type: str
    output_shape: tuple
    params: int


def load_blocks() -> None:
    from mm_train.nn import blocks, layers  # noqa: F401  (registers the blocks)


def _relative(err: ConfigError, path: str) -> ConfigError:
    """Prefix the relative key paths (".repeat") a factory reports with the layer's path."""
    for problem in err.problems:
        if problem.where.startswith("."):
            problem.where = path + problem.where
    return err


def build_network(network: Mapping[str, Any], where: str = "network"):
    """Return ``(cell, [LayerInfo, ...])`` for the ``network`` section."""
    from mindspore import nn

    load_blocks()
    unknown = [k for k in network if k not in NETWORK_KEYS]
    if unknown:
        from mm_train.errors import closest
        raise ConfigError.collect([ConfigError(f"{where}.{k}", "unknown key", expected=f"one of {list(NETWORK_KEYS)}",
                                               suggestions=closest(k, NETWORK_KEYS)) for k in unknown])
    shape = network.get("input_shape")
    if not isinstance(shape, (list, tuple)) or not shape or not all(isinstance(s, int) and s > 0 for s in shape):
        raise ConfigError(f"{where}.input_shape", f"got {shape!r}",
                          expected="the shape of one sample, channels first, e.g. [3, 32, 32]")
    layers = network.get("layers")
    if not isinstance(layers, Mapping) or not layers:
        raise ConfigError(f"{where}.layers", "no layers", expected="a mapping of layer name -> {type: BLOCK, ...}")
    shape = tuple(shape)
    cells, infos = OrderedDict(), []
    for name, spec in layers.items():
        path = f"{where}.layers.{name}"
        try:
            cell, shape = BLOCKS.build(spec, path, shape)
        except ShapeMismatch as err:
            raise ConfigError(path, str(err)) from None
        except ConfigError as err:
            raise _relative(err, path) from None
        except (TypeError, ValueError) as err:   # MindSpore's own argument checks
            raise ConfigError(path, f"{spec['type']}: {err}") from None
        cells[name] = cell
        infos.append(LayerInfo(name, spec["type"], tuple(shape),
                               sum(p.size for p in cell.trainable_params())))
    return nn.SequentialCell(cells), infos
