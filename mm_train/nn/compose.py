"""Build a sequence of named block specs by shape propagation (used by the builder and by ``Residual``).

    cells, shape, infos = build_layers({"conv1": {"type": "Conv2d", "out_channels": 8, "kernel_size": 3},
                                        "relu": {"type": "ReLU"}}, (3, 32, 32), "network.layers")
    # cells: OrderedDict name -> Cell; shape: (8, 32, 32)

A list of specs is named ``0, 1, ...`` (key paths ``where[0]``). Errors name the
layer's key path; a ``where`` starting with ``.`` is relative, and the enclosing
builder prefixes it with the path of the layer that contains it.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from mm_train.core.errors import ConfigError
from mm_train.nn import budget
from mm_train.nn.shapes import ShapeMismatch, Unbatched, is_unbatched
from mm_train.registry import BLOCKS


@dataclass
class LayerInfo:
    name: str
    type: str
    output_shape: tuple
    params: int
    input_shape: tuple = ()     # a graph layer with several inputs: a tuple of their shapes
    inputs: tuple = ()          # a graph layer: the names of the layers it takes ('input': the network's)


def relative(err: ConfigError, path: str) -> ConfigError:
    """Prefix the relative key paths (".repeat") a factory reports with the layer's path."""
    for problem in err.problems:
        if problem.where.startswith((".", "[")) and not problem.where.startswith(path):   # not prefixed twice
            problem.where = path + problem.where
    err.args = (str(err),)
    return err


def named_specs(specs: Any, where: str) -> list[tuple[str, str, Any]]:
    """``[(name, key path, spec), ...]`` from a mapping or a list of block specs."""
    if isinstance(specs, Mapping) and specs:
        return [(str(name), f"{where}.{name}", spec) for name, spec in specs.items()]
    if isinstance(specs, Sequence) and not isinstance(specs, str) and specs:
        return [(str(i), f"{where}[{i}]", spec) for i, spec in enumerate(specs)]
    raise ConfigError(where, f"got {specs!r}",
                      expected="a mapping of layer name -> {type: BLOCK, ...} or a list of {type: BLOCK, ...}")


def build_one(spec: Any, path: str, shape: tuple):
    """``(cell, output_shape)`` of one block spec, every failure as a ConfigError naming ``path``."""
    estimated = budget.charge(spec, shape, path)   # before anything is allocated (limits.max_params)
    before = budget.charged()
    try:
        cell, out = BLOCKS.build(spec, path, shape)
    except ShapeMismatch as err:
        raise ConfigError(path, str(err)) from None
    except ConfigError as err:   # relative paths (".repeat") from inside the factory
        raise relative(err, path) from None
    except (TypeError, ValueError) as err:   # MindSpore's own argument checks
        raise ConfigError(path, f"{spec.get('type')}: {' '.join(str(err).split())}") from None
    if not estimated:
        budget.charge_built(cell, path, since=before)
    shape = tuple(int(s) for s in out)
    return cell, (Unbatched(shape) if is_unbatched(out) else shape)


def build_layers(specs: Any, shape: Sequence[int], where: str):
    """``(OrderedDict name -> cell, output shape, [LayerInfo])`` for a sequence of block specs."""
    cells, infos, shape = OrderedDict(), [], tuple(shape)
    for name, path, spec in named_specs(specs, where):
        if isinstance(spec, Mapping) and "inputs" in spec:
            raise ConfigError(f"{path}.inputs", "a layer inside a block takes the previous one",
                              expected="inputs only on the layers of network.layers")
        cell, out = build_one(spec, path, shape)
        cells[name] = cell
        infos.append(LayerInfo(name, spec["type"], out, sum(p.size for p in cell.trainable_params()), shape))
        shape = out
    return cells, shape, infos
