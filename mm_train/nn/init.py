"""Weight initialisers chosen by name per layer type, overridable in the recipe.

    network:
      init:
        Conv2d: "HeNormal(mode='fan_out', nonlinearity='relu')"      # the weight
        Dense: {weight: {type: HeUniform, negative_slope: 2.23606797749979}, bias: Zero}
        BatchNorm2d: {gamma: One, beta: Zero}

A layer type is MindSpore's class name (or an mm_train block's: ``ClassToken: {token:
"TruncatedNormal(sigma=0.02)"}``, ``PositionEmbedding``, ``MultiheadAttention: {in_proj_weight:
XavierUniform}``); it applies to every such layer, also inside
blocks (the convs of a ResidualBlock). An initialiser is a class of
``mindspore.common.initializer`` by name (``HeNormal``), with arguments in a mapping
(``{type: HeNormal, mode: fan_out}``) or in call form (``"HeNormal(mode='fan_out')"``, literals
only, nothing is evaluated), or a number (a constant). Types and parameters not named keep
MindSpore's defaults. A recipe that starts from another one replaces an inherited initialiser
cleanly with the call form (a string), where a mapping would be merged key by key.
"""
from __future__ import annotations

import ast
import inspect
from typing import Any, Mapping

from mm_train.core.errors import ConfigError, closest
from mm_train.registry import check_arguments

PARAMS = {"Conv1d": ("weight", "bias"), "Conv2d": ("weight", "bias"), "Conv3d": ("weight", "bias"),
          "Conv2dTranspose": ("weight", "bias"), "Dense": ("weight", "bias"),
          "BatchNorm1d": ("gamma", "beta"), "BatchNorm2d": ("gamma", "beta"), "GroupNorm": ("gamma", "beta"),
          "InstanceNorm2d": ("gamma", "beta"), "LayerNorm": ("gamma", "beta"), "Embedding": ("embedding_table",),
          "MultiheadAttention": ("in_proj_weight", "in_proj_bias"),     # out_proj is a Dense
          "ClassToken": ("token",), "PositionEmbedding": ("embedding",)}   # mm_train.nn.transformer


def initializers() -> dict[str, type]:
    from mindspore.common import initializer as module
    return {name: obj for name, obj in vars(module).items()
            if inspect.isclass(obj) and issubclass(obj, module.Initializer) and obj is not module.Initializer}


def parse_call(text: str, where: str) -> tuple[str, dict[str, Any]]:
    """``"Normal(sigma=0.01)"`` -> ``("Normal", {"sigma": 0.01})``; only literal keyword arguments."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
        if isinstance(node, ast.Name):
            return node.id, {}
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args \
                and all(k.arg for k in node.keywords):
            return node.func.id, {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    except (SyntaxError, ValueError):
        pass
    raise ConfigError(where, f"cannot read initializer {text!r}",
                      expected="NAME or NAME(key=value, ...) with literal values, e.g. \"Normal(sigma=0.01)\"")


def make_initializer(spec: Any, where: str):
    """An ``Initializer`` from ``HeNormal``, ``"Normal(sigma=0.01)"``, ``{type: Normal, sigma: 0.01}`` or a number."""
    from mindspore.common.initializer import Constant
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return Constant(spec)
    kwargs = {}
    if isinstance(spec, str) and "(" in spec:
        spec, kwargs = parse_call(spec, where)
    if isinstance(spec, Mapping):
        kwargs = {k: v for k, v in spec.items() if k != "type"}
        spec = spec.get("type")
    known = initializers()
    if not isinstance(spec, str) or spec not in known:
        raise ConfigError(where, f"unknown initializer {spec!r}",
                          expected=f"one of {sorted(known)} (or a number), e.g. {{type: HeNormal, mode: fan_out}}",
                          suggestions=closest(str(spec), known))
    check_arguments(known[spec], kwargs, where)
    try:
        return known[spec](**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(where, f"{spec}: {err}") from None


def parse(init: Any, where: str = "network.init") -> dict[str, dict[str, Any]]:
    """``{layer type: {parameter: Initializer}}``; every mistake reported at once."""
    if init is None:
        return {}
    if not isinstance(init, Mapping):
        raise ConfigError(where, f"got {init!r}", expected="a mapping of layer type -> initializer")
    plan, errors = {}, []
    for layer, spec in init.items():
        path = f"{where}.{layer}"
        if layer not in PARAMS:
            errors.append(ConfigError(path, "unknown layer type", expected=f"one of {sorted(PARAMS)}",
                                      suggestions=closest(str(layer), PARAMS)))
            continue
        per_param = spec if isinstance(spec, Mapping) and "type" not in spec else {PARAMS[layer][0]: spec}
        plan[layer] = {}
        for param, value in per_param.items():
            if param not in PARAMS[layer]:
                errors.append(ConfigError(f"{path}.{param}", f"{layer} has no parameter '{param}'",
                                          expected=f"one of {list(PARAMS[layer])}",
                                          suggestions=closest(str(param), PARAMS[layer])))
                continue
            try:
                plan[layer][param] = make_initializer(value, f"{path}.{param}")
            except ConfigError as err:
                errors.append(err)
    if errors:
        raise ConfigError.collect(errors)
    return plan


def apply(network, plan: Mapping[str, Mapping[str, Any]]) -> None:
    """Re-initialise the named parameters of every layer of the planned types in ``network``."""
    from mindspore.common.initializer import initializer
    if not plan:
        return
    for _, cell in network.cells_and_names():
        for param_name, init in plan.get(getattr(cell, "init_name", type(cell).__name__), {}).items():
            param = getattr(cell, param_name, None)
            if param is not None:
                param.set_data(initializer(init, param.shape, param.dtype))
