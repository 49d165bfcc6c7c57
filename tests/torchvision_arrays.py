"""Seeded state_dict values from names and shapes alone (numpy only): the torchvision fixture script
(scripts/make_torchvision_fixtures.py) and the tests build the same arrays, so a ResNet-50-sized
weight file need not be committed."""
from __future__ import annotations

import numpy as np


def random_value(name: str, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """Weights ~ N(0, 1/fan_in); norm scales, layer scales, running variances in [0.5, 1.5]; biases and
    running means ~ N(0, 0.1); class token and position embedding ~ N(0, 0.5)."""
    shape = tuple(shape)
    if name.endswith("running_var") or name.endswith("layer_scale") or (len(shape) == 1 and name.endswith("weight")):
        value = rng.uniform(0.5, 1.5, shape)
    elif len(shape) <= 1:
        value = rng.normal(0, 0.1, shape)
    elif name in ("class_token", "encoder.pos_embedding"):
        value = rng.normal(0, 0.5, shape)
    else:
        value = rng.normal(0, 1 / np.sqrt(np.prod(shape[1:])), shape)
    return value.astype(np.float32)


def random_state(shapes: dict, seed: int) -> dict[str, np.ndarray]:
    """``{name: array}`` for ``{name: shape}`` in sorted name order (num_batches_tracked: int64 zeros)."""
    rng = np.random.default_rng(seed)
    return {name: (np.zeros(shapes[name], np.int64) if name.endswith("num_batches_tracked")
                   else random_value(name, shapes[name], rng)) for name in sorted(shapes)}
