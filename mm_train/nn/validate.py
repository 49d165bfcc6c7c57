"""The ``network`` section checked without building it; :func:`block_errors` is
:data:`mm_train.registry.BLOCKS`' ``check_func``.

    network_errors({"input_shape": [3, 8, 8], "layers": {"c": {"type": "Conv2d", "kernel": 3}}})
    # [ConfigError("network.layers.c.kernel: unknown argument ... Did you mean 'kernel_size'?"), ...]
"""
from __future__ import annotations

import inspect
from typing import Any, Mapping

from mm_train.core.errors import ConfigError, closest
from mm_train.registry import BLOCKS, check_arguments

NESTED_BLOCKS = ("layers", "body")    # arguments that hold block specs (Sequential, Residual); Repeat: block


def network_errors(network: Any, where: str = "network") -> list[ConfigError]:
    from mm_train.nn.builder import NETWORK_KEYS
    from mm_train.nn.defaults import apply_defaults, defaults_errors
    from mm_train.nn.wiring import wiring_errors

    if not isinstance(network, Mapping):
        return [ConfigError(where, f"got {network!r}", expected="a mapping with input_shape and layers")]
    errors = [ConfigError(f"{where}.{k}", "unknown key", expected=f"one of {list(NETWORK_KEYS)}",
                          suggestions=closest(str(k), NETWORK_KEYS)) for k in network if k not in NETWORK_KEYS]
    errors += defaults_errors(network.get("defaults"))
    layers = network.get("layers")
    if isinstance(network.get("defaults"), Mapping):
        layers = apply_defaults(layers, network["defaults"])
    if not isinstance(layers, Mapping) or not layers:
        return errors + [ConfigError(f"{where}.layers", f"got {layers!r}",
                                     expected="a mapping of layer name -> {type: BLOCK, ...}")]
    errors += wiring_errors(network)
    for name, spec in layers.items():
        errors += BLOCKS.check(spec, f"{where}.layers.{name}")
    return errors


def block_errors(spec: Any, where: str) -> list[ConfigError]:
    """One block spec's problems, and those of the blocks nested in it (Repeat's ``block``, Sequential's
    ``layers``, Residual's ``body``), each with its own key path."""
    if isinstance(spec, Mapping) and isinstance(spec.get("block"), str) and spec.get("type") in BLOCKS:
        return _block_holder_errors(spec, where)
    errors = BLOCKS.check_spec(spec, where)
    if errors or not isinstance(spec, Mapping):
        return errors
    if isinstance(spec.get("block"), Mapping):
        errors += block_errors(spec["block"], f"{where}.block")
    for key in NESTED_BLOCKS:
        inner = spec.get(key)
        items = (inner.items() if isinstance(inner, Mapping) else enumerate(inner) if isinstance(inner, list) else ())
        for name, child in items:
            path = f"{where}.{key}[{name}]" if isinstance(name, int) else f"{where}.{key}.{name}"
            if isinstance(child, Mapping) and "times" in child:     # Sequential list items may repeat
                child = {k: v for k, v in child.items() if k != "times"}
            errors += block_errors(child, path)
    return errors


def _block_holder_errors(spec: Mapping[str, Any], where: str) -> list[ConfigError]:
    """A block that repeats another (``Stage``): its own arguments, then the inner block's, as
    :func:`mm_train.nn.blocks.stage` passes them (:data:`mm_train.nn.blocks.PASSED_ON`)."""
    from mm_train.nn.blocks import PASSED_ON
    outer = BLOCKS.get(spec["type"], f"{where}.type")
    own = list(inspect.signature(outer).parameters)[1:]
    try:
        inner = BLOCKS.get(spec["block"], f"{where}.block")
    except ConfigError as err:
        return [err]
    rest = {k: v for k, v in spec.items() if k not in own and k != "type"}
    passed = {k: spec[k] for k in PASSED_ON if k in spec}
    errors = []
    for factory, kwargs in ((outer, {k: spec[k] for k in own if k in spec}), (inner, {**passed, **rest})):
        try:
            check_arguments(factory, kwargs, where, skip=1)
        except ConfigError as err:
            errors += err.problems
    return errors
