"""Which earlier layers each layer of ``network.layers`` takes (its ``inputs``), checked without building.

    layers:
      stem: {type: Conv2d, out_channels: 16, kernel_size: 3}
      b1:   {type: Conv2d, out_channels: 8, kernel_size: 1}                  # the previous layer (stem)
      b2:   {type: Conv2d, out_channels: 8, kernel_size: 3, inputs: stem}    # one earlier layer
      cat:  {type: Concat, axis: 1, inputs: [b1, b2]}                         # several
      skip: {type: Add, inputs: [cat, input]}                                  # `input`: the network's input
      token: {type: Parameter, shape: [1, 8], inputs: []}                      # none

    wiring(layers, output=None, where="network")
    -> Wiring(names=[...], sources=[(0,), (1,), (1,), (2, 3), (4, 0), ()], output=6)

Node 0 is the network's input, node ``i + 1`` the output of layer ``i``. A name that is unknown,
later (or the layer itself, or a cycle) is a ConfigError naming ``network.layers.KEY.inputs``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from mm_train.core.errors import ConfigError, closest

INPUT = "input"


@dataclass
class Wiring:
    names: list            # layer names, in order
    sources: list          # per layer: the node ids it takes (0: the input, i + 1: layer i)
    output: int            # the node id the network returns
    is_graph: bool         # False: a plain chain (no inputs, no output, no dotted names): a SequentialCell

    def consumers_last(self) -> list:
        """Per node id: the index of the last layer that reads it (the output node: len(layers))."""
        last = [-1] * (len(self.names) + 1)
        for i, srcs in enumerate(self.sources):
            for s in srcs:
                last[s] = i
        last[self.output] = len(self.names)
        return last


def _names(value: Any) -> Optional[list]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _cycle(name: str, target: str, layers: Mapping[str, Any], order: dict) -> Optional[list]:
    """``[name, target, ..., name]`` when ``target`` (a later layer) reaches back to ``name``."""
    path, seen = [target], set()

    def walk(node: str) -> bool:
        if node in seen:
            return False
        seen.add(node)
        spec = layers.get(node)
        refs = _names(spec.get("inputs")) if isinstance(spec, Mapping) and "inputs" in spec else None
        if refs is None:   # the previous layer
            idx = order[node]
            refs = [list(order)[idx - 1]] if idx > 0 else []
        for ref in refs:
            if ref == name:
                path.append(ref)
                return True
            if ref in order:
                path.append(ref)
                if walk(ref):
                    return True
                path.pop()
        return False

    return [name, *path] if walk(target) else None


def wiring(layers: Mapping[str, Any], output: Any = None, where: str = "network") -> Wiring:
    """The checked wiring of ``layers``; every problem at once in one ConfigError."""
    names = [str(k) for k in layers]
    order = {n: i for i, n in enumerate(names)}
    errors, sources = [], []
    uses_inputs = any(isinstance(s, Mapping) and "inputs" in s for s in layers.values())
    is_graph = uses_inputs or output is not None or any("." in n for n in names)
    if is_graph and INPUT in order:
        errors.append(ConfigError(f"{where}.layers.{INPUT}", f"'{INPUT}' names the network's input",
                                  expected="another layer name"))
    for i, name in enumerate(names):
        spec = layers[name]
        path = f"{where}.layers.{name}.inputs"
        if not isinstance(spec, Mapping) or "inputs" not in spec:
            sources.append((i,))   # the previous layer (node i), the input for the first layer
            continue
        refs = _names(spec["inputs"])
        if refs is None:
            errors.append(ConfigError(path, f"got {spec['inputs']!r}",
                                      expected=f"an earlier layer name, '{INPUT}', or a list of them ([] for none)"))
            sources.append(())
            continue
        ids = []
        for ref in refs:
            if ref == INPUT:
                ids.append(0)
            elif ref == name:
                errors.append(ConfigError(path, f"layer '{name}' names itself",
                                          expected=f"an earlier layer or '{INPUT}'",
                                          suggestions=closest(ref, [INPUT, *names[:i]]) if i else [INPUT]))
            elif ref not in order:
                errors.append(ConfigError(path, f"unknown layer '{ref}'", expected=f"an earlier layer or '{INPUT}'",
                                          suggestions=closest(ref, [INPUT, *names[:i]])))
            elif order[ref] > i:
                cycle = _cycle(name, ref, layers, order)
                problem = (f"a cycle: {' -> '.join(cycle)}" if cycle else
                           f"'{ref}' comes later (layers run in the order they are written)")
                expected = f"an earlier layer or '{INPUT}'" + ("" if cycle else f"; move '{ref}' above '{name}'")
                errors.append(ConfigError(path, problem, expected=expected,
                                          suggestions=closest(ref, [INPUT, *names[:i]])))
            else:
                ids.append(order[ref] + 1)
        sources.append(tuple(ids))
    out = len(names)
    if output is not None:
        if not isinstance(output, str) or (output not in order and output != INPUT):
            errors.append(ConfigError(f"{where}.output", f"unknown layer {output!r}",
                                      expected="the name of the layer whose output the network returns",
                                      suggestions=closest(str(output), names)))
        else:
            out = 0 if output == INPUT else order[output] + 1
    if errors:
        raise ConfigError.collect(errors)
    return Wiring(names, sources, out, is_graph)


def wiring_errors(network: Mapping[str, Any], where: str = "network") -> list:
    """The problems :func:`wiring` finds, as a list (for ``mm-train recipes validate``)."""
    layers = network.get("layers")
    if not isinstance(layers, Mapping) or not layers:
        return []
    try:
        wiring(layers, network.get("output"), where)
    except ConfigError as err:
        return list(err.problems)
    return []
