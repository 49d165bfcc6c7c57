"""Keras 3 weight files as Keras 3 writes them.

``model.save_weights("m.weights.h5")`` and the ``model.weights.h5`` inside ``model.save("m.keras")`` name
each layer's group by its class and a counter in the model's layer order (``layers/conv2d``,
``layers/conv2d_1``, ``layers/batch_normalization_3``...), never by the layer's name, and store its
variables by position (``vars/0``, ``vars/1``). Two ways back to the layers:

- a ``.keras`` archive's ``config.json`` lists the layers in order with their names and classes: the
  n-th ``Conv2D`` of that list is group ``conv2d_n`` (:func:`names_from_config`); its variables get the
  names Keras 2 gave them (``conv1_conv/kernel``, ``conv1_bn/moving_mean``) and the rules apply as usual;
- a ``.weights.h5`` alone: the n-th layer of each kind (conv, depthwise conv, BatchNorm, dense, layer norm)
  goes to the n-th layer of that kind of the network the recipe builds, shapes checked
  (:func:`by_position`); a conv bias the network does not have is folded into the n-th BatchNorm. Where
  Keras lists a block's layers in another order than the network builds them, the rule set's
  ``keras3_order`` says so and the network's layers are taken in Keras's order (:func:`in_keras3_order`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

VAR = re.compile(r"^(?P<group>(?:.*/)?layers/[^/]+)/vars/(?P<index>\d+)$")
COUNTER = re.compile(r"^(?P<kind>[a-z0-9_]+?)(?:_(?P<n>\d+))?$")

# the variables of a layer class, in the order Keras 3 creates (and stores) them; optional ones by config flag
VARIABLES = {
    "Conv1D": (("kernel", None), ("bias", "use_bias")),
    "Conv2D": (("kernel", None), ("bias", "use_bias")),
    "Conv3D": (("kernel", None), ("bias", "use_bias")),
    "Dense": (("kernel", None), ("bias", "use_bias")),
    "DepthwiseConv2D": (("depthwise_kernel", None), ("bias", "use_bias")),
    "SeparableConv2D": (("depthwise_kernel", None), ("pointwise_kernel", None), ("bias", "use_bias")),
    "BatchNormalization": (("gamma", "scale"), ("beta", "center"), ("moving_mean", None), ("moving_variance", None)),
    "LayerNormalization": (("gamma", "scale"), ("beta", "center")),
    "Embedding": (("embeddings", None),),
}
# kinds of layers matched by position between a .weights.h5 and the network (Keras class -> kind)
KINDS = {"conv2d": "conv", "depthwise_conv2d": "depthwise", "batch_normalization": "bn", "dense": "dense",
         "layer_normalization": "ln"}


def snake_case(name: str) -> str:
    """Keras's own ``to_snake_case``: ``Conv2D`` -> ``conv2d``, ``ReLU`` -> ``re_lu``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def groups(flat: Mapping[str, np.ndarray]) -> dict[str, list[np.ndarray]]:
    """``{"layers/conv2d_3": [vars/0, vars/1, ...]}`` from an .h5's datasets (the optimizer's left out)."""
    found: dict[str, dict[int, np.ndarray]] = {}
    for key, array in flat.items():
        m = VAR.match(key)
        if m and not key.startswith("optimizer/"):
            found.setdefault(m["group"], {})[int(m["index"])] = array
    return {g: [v[i] for i in sorted(v)] for g, v in found.items()}


def is_keras3(flat: Mapping[str, Any]) -> bool:
    return any(VAR.match(k) for k in flat)


def names_from_config(config: Mapping[str, Any]) -> dict[str, tuple[str, str, dict]]:
    """``{"layers/conv2d_1": ("conv2_block1_1_conv", "Conv2D", layer config), ...}`` for the top-level layers
    that ``config.json`` lists, in order."""
    layer_list = ((config or {}).get("config") or {}).get("layers") or []
    seen: dict[str, int] = {}
    out = {}
    for layer in layer_list:
        cls = str(layer.get("class_name", ""))
        base = snake_case(cls)
        n = seen.get(base, 0)
        seen[base] = n + 1
        name = layer.get("name") or (layer.get("config") or {}).get("name")
        out[f"layers/{base}" + (f"_{n}" if n else "")] = (str(name), cls, dict(layer.get("config") or {}))
    return out


def variable_names(cls: str, config: Mapping[str, Any], count: int) -> list[str] | None:
    """The names of a layer's ``count`` stored variables by its class and config; None if unknown."""
    spec = VARIABLES.get(cls)
    if spec is None:
        return None
    names = [n for n, flag in spec if flag is None or config.get(flag, True)]
    return names if len(names) == count else None


def by_shape(arrays: list[np.ndarray]) -> list[str]:
    """Names for a layer's variables when its class is unknown: kernel (2 or 4 axes) then bias; four vectors:
    BatchNormalization's; two vectors: LayerNormalization's; anything else ``vars/i``."""
    shapes = [a.shape for a in arrays]
    if shapes and len(shapes[0]) in (2, 4) and all(len(s) == 1 for s in shapes[1:]) and len(shapes) <= 2:
        return ["kernel", "bias"][:len(shapes)]
    if len(shapes) == 4 and all(len(s) == 1 and s == shapes[0] for s in shapes):
        return ["gamma", "beta", "moving_mean", "moving_variance"]
    if len(shapes) == 2 and all(len(s) == 1 and s == shapes[0] for s in shapes):
        return ["gamma", "beta"]
    return [f"vars/{i}" for i in range(len(shapes))]


def named(flat: Mapping[str, np.ndarray], config: Mapping[str, Any] | None) -> dict[str, np.ndarray]:
    """A Keras 3 file's variables: ``LAYER/VAR`` by ``config.json`` (a .keras archive); without it
    ``GROUP/VAR`` with the group's class-and-counter name (``conv2d_3/kernel``), for :func:`by_position`."""
    layers = names_from_config(config) if config else {}
    out = {}
    for group, arrays in groups(flat).items():
        if not arrays:
            continue
        if group in layers:
            name, cls, cfg = layers[group]
            names = variable_names(cls, cfg, len(arrays)) or by_shape(arrays)
        else:
            name, names = group.split("layers/", 1)[-1] if group.startswith("layers/") else group, by_shape(arrays)
            if group.rsplit("/", 1)[-1].startswith("depthwise_conv2d") and names[0] == "kernel":
                names[0] = "depthwise_kernel"
        out.update({f"{name}/{n}": a for n, a in zip(names, arrays)})
    return out


def positional(weights: Mapping[str, np.ndarray]) -> bool:
    """True when every layer is named only by Keras 3's class and counter (a .weights.h5 without config.json)."""
    layers = {k.rsplit("/", 1)[0] for k in weights}
    return bool(layers) and all("/" not in g and (m := COUNTER.match(g)) and m["kind"] in KINDS for g in layers) \
        and any(COUNTER.match(g)["kind"] in KINDS for g in layers)


@dataclass
class TargetLayer:
    """A layer of the network with weights, as :func:`by_position` pairs them: its kind and parameter names."""
    kind: str
    params: dict[str, str] = field(default_factory=dict)     # weight, bias, gamma, beta, moving_mean, ...
    name: str = ""                                          # the cell's name: layer1.0.downsample.0


def network_layers(network) -> list[TargetLayer]:
    """The network's conv, depthwise conv, BatchNorm, Dense and LayerNorm cells in build order."""
    from mindspore import nn

    out = []
    for name, cell in network.cells_and_names():
        params = {p.name.rsplit(".", 1)[-1]: p.name for p in cell.get_parameters(expand=False)}
        if isinstance(cell, nn.Conv2d):
            depthwise = cell.group > 1 and cell.group == cell.in_channels == cell.out_channels
            out.append(TargetLayer("depthwise" if depthwise else "conv", params, name))
        elif isinstance(cell, nn.Dense):
            out.append(TargetLayer("dense", params, name))
        elif isinstance(cell, (nn.BatchNorm2d, nn.BatchNorm1d)):
            out.append(TargetLayer("bn", params, name))
        elif isinstance(cell, nn.LayerNorm):
            out.append(TargetLayer("ln", params, name))
    return out


def in_keras3_order(layers: list[TargetLayer], orders) -> list[TargetLayer]:
    """``layers`` with each block's cells rearranged as the rule set's ``keras3_order`` entries list them
    (``BlockOrder(block=re.compile(r'^layer\\d+\\.\\d+\\.'), order=(conv1, bn1, conv2, bn2, downsample.0, ...))``):
    the cells a block lists take the places they held, in the listed order; the others stay where they are."""
    out = list(layers)
    for entry in orders:
        blocks: dict[str, list[tuple[int, int]]] = {}       # block prefix -> [(place, rank in order)]
        for place, layer in enumerate(out):
            m = entry.block.search(layer.name)
            if m and m.start() == 0 and layer.name[m.end():] in entry.order:
                blocks.setdefault(m.group(0), []).append((place, entry.order.index(layer.name[m.end():])))
        moved = list(out)
        for members in blocks.values():
            for place, (source, _) in zip([p for p, _ in members], sorted(members, key=lambda m: m[1])):
                moved[place] = out[source]
        out = moved
    return out


ORDER = ("conv", "depthwise", "dense", "bn", "ln")      # conv biases fold into BatchNorms before those are taken
LAYOUT = {"conv": (3, 2, 0, 1), "depthwise": (2, 3, 0, 1), "dense": (1, 0)}    # Keras -> MindSpore
TARGET_VAR = {"kernel": "weight", "depthwise_kernel": "weight", "bias": "bias", "gamma": "gamma", "beta": "beta",
              "moving_mean": "moving_mean", "moving_variance": "moving_variance"}


def by_position(weights: Mapping[str, np.ndarray], layers: list[TargetLayer]):
    """Pair the n-th Keras layer of each kind with the n-th network layer of that kind; ``Converted``."""
    from mm_train.migrate.rules import Converted

    source: dict[str, list[tuple[str, dict[str, np.ndarray]]]] = {}
    per_group: dict[str, dict[str, np.ndarray]] = {}
    for key, array in weights.items():
        group, var = key.rsplit("/", 1)
        per_group.setdefault(group, {})[var] = np.asarray(array)
    for group in sorted(per_group, key=lambda g: (COUNTER.match(g)["kind"], int(COUNTER.match(g)["n"] or 0))):
        source.setdefault(KINDS[COUNTER.match(group)["kind"]], []).append((group, per_group[group]))
    targets: dict[str, list[TargetLayer]] = {}
    for layer in layers:
        targets.setdefault(layer.kind, []).append(layer)
    out, origin, folded, problems = {}, {}, [], []
    for kind in sorted(set(source) | set(targets), key=lambda k: ORDER.index(k) if k in ORDER else len(ORDER)):
        have, want = source.get(kind, []), targets.get(kind, [])
        if len(have) != len(want):
            problems.append(f"mapped by position (a Keras 3 .weights.h5 names layers by class): the file has "
                            f"{len(have)} {kind} layers, the network {len(want)}; save the model with "
                            "model.save('m.keras') (its config.json names the layers)")
            continue
        for n, ((group, variables), target) in enumerate(zip(have, want)):
            for var, array in variables.items():
                if var == "bias" and "bias" not in target.params and kind == "conv":
                    bns = source.get("bn", [])
                    if len(bns) != len(have) or "moving_mean" not in bns[n][1]:
                        problems.append(f"{group}/bias: the network's conv {target.params.get('weight')} has no "
                                        "bias and the convs and BatchNorms do not pair up one to one")
                        continue
                    bns[n][1]["moving_mean"] = bns[n][1]["moving_mean"] - array.astype(bns[n][1]["moving_mean"].dtype)
                    into = targets["bn"][n].params.get("moving_mean", "") if len(targets.get("bn", [])) > n else ""
                    folded.append((f"{group}/bias", into.rsplit(".", 1)[0] or bns[n][0]))
                    continue
                name = target.params.get(TARGET_VAR.get(var, var))
                if name is None:
                    problems.append(f"{group}/{var}: the network's {kind} layer {sorted(target.params.values())} "
                                    f"has no {TARGET_VAR.get(var, var)}")
                    continue
                if var in ("kernel", "depthwise_kernel") and array.ndim == len(LAYOUT[kind]):
                    array = np.ascontiguousarray(np.transpose(array, LAYOUT[kind]))
                out[name], origin[name] = array, f"{group}/{var}"
    return Converted(out, origin, [], folded, problems)
