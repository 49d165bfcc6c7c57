"""Turn the ``network`` section of a recipe into a Cell.

    network:
      input_shape: [3, 32, 32]          # one sample, channels first
      init: {Conv2d: {type: HeNormal, mode: fan_out, nonlinearity: relu}}   # optional, see mm_train.nn.init
      layers:                           # the names become parameter names
        conv1: {type: Conv2d, out_channels: 64, kernel_size: 3}
        relu:  {type: ReLU}
        pool:  {type: GlobalAvgPool}
        fc:    {type: Dense, out_channels: 10}

``in_channels`` / ``in_features`` are never written: each layer's factory gets
the output shape of the previous one. Blocks come from mm_train and from other
packages' ``mm_train.blocks`` entry points (see :mod:`mm_train.nn.plugins`).
A layer may name its ``inputs`` (earlier layers or ``input``) and ``output`` may name the
layer the network returns: then the network is a graph (see :mod:`mm_train.nn.wiring`).
"""
from __future__ import annotations

from typing import Any, Mapping

import math

from mm_train.core.argtypes import MAX_INT
from mm_train.core.errors import ConfigError, closest
from mm_train.nn import budget
from mm_train.nn.budget import DEFAULT_MAX_PARAMS
from mm_train.registry import BLOCKS
from mm_train.nn.compose import LayerInfo, build_layers  # noqa: F401  (LayerInfo: public)
from mm_train.nn.wiring import wiring

# output: see mm_train.nn.wiring; weight_rules: see mm_train.assembly.init_from; drop_path_rate: mm_train.nn.stochastic_depth;
# defaults: mm_train.nn.defaults
NETWORK_KEYS = ("input_shape", "layers", "output", "init", "weight_rules", "drop_path_rate", "defaults")


def load_blocks() -> None:
    """Register mm_train's blocks and those of installed plugin packages (new ones since the last call)."""
    BLOCKS.load()


def check_input_shape(shape: Any, where: str) -> tuple:
    if isinstance(shape, (list, tuple)) and 0 < len(shape) <= 4 and all(
            isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape) and math.prod(shape) <= MAX_INT:
        return tuple(shape)
    raise ConfigError(f"{where}.input_shape", f"got {shape!r}",
                      expected=f"the shape of one sample, channels first, e.g. [3, 32, 32], at most {MAX_INT} values")


def build_network(network: Mapping[str, Any], where: str = "network", max_params: int = DEFAULT_MAX_PARAMS):
    """Return ``(cell, [LayerInfo, ...])`` for the ``network`` section; a ConfigError before building
    a layer that would take the parameter count past ``max_params`` (``limits.max_params``)."""
    from mindspore import nn

    from mm_train.nn import init

    load_blocks()
    unknown = [k for k in network if k not in NETWORK_KEYS]
    if unknown:
        raise ConfigError.collect([ConfigError(f"{where}.{k}", "unknown key", expected=f"one of {list(NETWORK_KEYS)}",
                                               suggestions=closest(k, NETWORK_KEYS)) for k in unknown])
    shape = check_input_shape(network.get("input_shape"), where)
    plan = init.parse(network.get("init"), f"{where}.init")
    from mm_train.nn.defaults import apply_defaults, defaults_errors
    if errors := defaults_errors(network.get("defaults"), f"{where}.defaults"):
        raise ConfigError.collect(errors)
    layers = apply_defaults(network.get("layers"), network.get("defaults"))
    if not isinstance(layers, Mapping) or not layers:
        raise ConfigError(f"{where}.layers", "no layers", expected="a mapping of layer name -> {type: BLOCK, ...}")
    links = wiring(layers, network.get("output"), where)
    with budget.limit(max_params):
        if links.is_graph:   # layers with inputs: see mm_train.nn.graph
            from mm_train.nn.graph import build_graph
            cell, infos, _ = build_graph(layers, shape, links, f"{where}.layers")
        else:
            cells, _, infos = build_layers(layers, shape, f"{where}.layers")
            cell = nn.SequentialCell(cells)
    init.apply(cell, plan)
    if network.get("drop_path_rate") is not None:
        from mm_train.nn.stochastic_depth import scale_over_depth
        scale_over_depth(cell, network["drop_path_rate"], f"{where}.drop_path_rate")
    for _, part in cell.cells_and_names():   # blocks' recompute, now that their drop rates are final
        if callable(getattr(part, "apply_recompute", None)):
            part.apply_recompute()
    return cell, infos
