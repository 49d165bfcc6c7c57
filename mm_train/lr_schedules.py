"""Learning-rate schedules, computed per step as a float32 array.

Each schedule takes ``total_steps`` and ``steps_per_epoch`` and its own keywords.
Every one has a linear warmup from ``lr_init`` to the peak rate over
``warmup_epochs``; ``progress`` below runs from 0 to 1 over the steps after it::

    lr_schedule: {type: cosine, lr_max: 0.1, lr_end: 0.0, warmup_epochs: 5}
    lr_schedule: {type: multistep, lr_max: 0.1, milestones: [30, 60], gamma: 0.1}
    lr_schedule: {type: cosine, lr_max: 0.1, scale_by_batch: {base_batch_size: 256}}

``scale_by_batch`` multiplies the peak rate (``lr_max``, or ``lr`` of ``constant``)
by ``global batch / base_batch_size`` (global batch = batch size x devices), the
linear scaling rule of Goyal et al. ``warmup_poly``/``warmup_cosine`` are the
older names of ``poly``/``cosine``.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from mm_train.argtypes import NonNegativeInt, PositiveInt
from mm_train.errors import ConfigError
from mm_train.registry import LR_SCHEDULES


def _schedule(total_steps: int, steps_per_epoch: int, warmup_epochs: float, lr_init: float,
              lr_max: float, decay) -> np.ndarray:
    """``decay(progress, step)`` after ``warmup_epochs`` of linear warmup from ``lr_init`` to ``lr_max``."""
    warmup_steps = min(int(round(warmup_epochs * steps_per_epoch)), total_steps)
    lrs = []
    for step in range(total_steps):
        if step < warmup_steps:
            lrs.append(lr_init + (lr_max - lr_init) * step / warmup_steps)
        else:
            lrs.append(decay((step - warmup_steps) / max(1, total_steps - warmup_steps), step))
    return np.asarray(lrs, dtype=np.float32)


@LR_SCHEDULES.register("constant")
def constant(total_steps, steps_per_epoch, lr: float, warmup_epochs: float = 0, lr_init: float = 0.0):
    """``lr``."""
    return _schedule(total_steps, steps_per_epoch, warmup_epochs, lr_init, lr, lambda p, s: lr)


@LR_SCHEDULES.register("step")
def step(total_steps, steps_per_epoch, lr_max: float, step_epochs: PositiveInt, gamma: float = 0.1,
         warmup_epochs: float = 0, lr_init: float = 0.0):
    """``lr_max * gamma ** floor(epoch / step_epochs)``, epoch counted from the start (as a float)."""
    size = step_epochs * steps_per_epoch
    return _schedule(total_steps, steps_per_epoch, warmup_epochs, lr_init, lr_max,
                     lambda p, s: lr_max * gamma ** math.floor(s / size))


@LR_SCHEDULES.register("multistep")
def multistep(total_steps, steps_per_epoch, lr_max: float, milestones: Sequence[NonNegativeInt], gamma: float = 0.1,
              warmup_epochs: float = 0, lr_init: float = 0.0):
    """``lr_max * gamma ** (number of milestones (epochs) already reached)``."""
    bounds = sorted(m * steps_per_epoch for m in milestones)
    return _schedule(total_steps, steps_per_epoch, warmup_epochs, lr_init, lr_max,
                     lambda p, s: lr_max * gamma ** sum(s >= b for b in bounds))


@LR_SCHEDULES.register("cosine")
def cosine(total_steps, steps_per_epoch, lr_max: float, lr_init: float = 0.0, lr_end: float = 0.0,
           warmup_epochs: float = 0):
    """``lr_end + (lr_max - lr_end) * (1 + cos(pi * progress)) / 2``."""
    return _schedule(total_steps, steps_per_epoch, warmup_epochs, lr_init, lr_max,
                     lambda p, s: lr_end + (lr_max - lr_end) * (1.0 + math.cos(math.pi * p)) / 2)


@LR_SCHEDULES.register("poly")
def poly(total_steps, steps_per_epoch, lr_max: float, lr_init: float = 0.0, lr_end: float = 0.0,
         warmup_epochs: float = 0, power: float = 2.0):
    """The model zoo's ResNet "poly": ``lr_end + (lr_max - lr_end) * (1 - progress) ** power``."""
    return _schedule(total_steps, steps_per_epoch, warmup_epochs, lr_init, lr_max,
                     lambda p, s: lr_end + (lr_max - lr_end) * (1.0 - p) ** power)


@LR_SCHEDULES.register("linear")
def linear(total_steps, steps_per_epoch, lr_max: float, lr_init: float = 0.0, lr_end: float = 0.0,
           warmup_epochs: float = 0):
    """``lr_max + (lr_end - lr_max) * progress``."""
    return _schedule(total_steps, steps_per_epoch, warmup_epochs, lr_init, lr_max,
                     lambda p, s: lr_max + (lr_end - lr_max) * p)


LR_SCHEDULES.register("warmup_poly", poly)
LR_SCHEDULES.register("warmup_cosine", cosine)


def build_lr_schedule(spec: Mapping[str, Any], total_steps: int, steps_per_epoch: int,
                      global_batch_size: int, where: str = "lr_schedule") -> np.ndarray:
    """The per-step rates of ``spec``; applies ``scale_by_batch`` to the peak rate."""
    if not isinstance(spec, Mapping) or "type" not in spec:
        raise ConfigError(where, "a lr schedule needs a 'type'", expected=f"one of {LR_SCHEDULES.names()}")
    spec = dict(spec)
    scaling = spec.pop("scale_by_batch", None)
    if scaling:
        if not isinstance(scaling, Mapping) or not isinstance(scaling.get("base_batch_size"), int) \
                or scaling["base_batch_size"] < 1 or set(scaling) - {"base_batch_size"}:
            raise ConfigError(f"{where}.scale_by_batch", f"got {scaling!r}",
                              expected="{base_batch_size: N} with N a whole number >= 1")
        peak = "lr" if "lr" in spec else "lr_max"
        if peak not in spec:
            raise ConfigError(f"{where}.{peak}", "missing required argument")
        spec[peak] = float(spec[peak]) * global_batch_size / scaling["base_batch_size"]
    return LR_SCHEDULES.build(spec, where, total_steps, steps_per_epoch)
