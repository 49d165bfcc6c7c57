"""Learning-rate schedules, computed per step as a float32 array.

Each schedule takes ``total_steps`` and ``steps_per_epoch`` and its own keywords;
warmup rises linearly from ``lr_init`` to ``lr_max`` over ``warmup_epochs``::

    lr_schedule: {type: warmup_poly, lr_init: 0.01, lr_max: 0.1, warmup_epochs: 5}
"""
from __future__ import annotations

import math

import numpy as np

from mm_train.registry import LR_SCHEDULES


def _warmup(step: int, warmup_steps: int, lr_init: float, lr_max: float) -> float:
    return lr_init + (lr_max - lr_init) * step / warmup_steps


def _schedule(total_steps: int, steps_per_epoch: int, warmup_epochs: float, lr_init: float,
              lr_max: float, decay) -> np.ndarray:
    warmup_steps = int(round(warmup_epochs * steps_per_epoch))
    warmup_steps = min(warmup_steps, total_steps)
    lrs = []
    for step in range(total_steps):
        if step < warmup_steps:
            lrs.append(_warmup(step, warmup_steps, lr_init, lr_max))
        else:
            progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
            lrs.append(decay(progress))
    return np.asarray(lrs, dtype=np.float32)


@LR_SCHEDULES.register("constant")
def constant(total_steps, steps_per_epoch, lr, warmup_epochs=0, lr_init=0.0):
    return _schedule(total_steps, steps_per_epoch, warmup_epochs, lr_init, lr, lambda p: lr)


@LR_SCHEDULES.register("warmup_poly")
def warmup_poly(total_steps, steps_per_epoch, lr_max, lr_init=0.0, lr_end=0.0, warmup_epochs=0, power=2.0):
    """The model zoo's ResNet "poly": ``lr_end + (lr_max - lr_end) * (1 - progress) ** power``."""
    return _schedule(total_steps, steps_per_epoch, warmup_epochs, lr_init, lr_max,
                     lambda p: lr_end + (lr_max - lr_end) * (1.0 - p) ** power)


@LR_SCHEDULES.register("warmup_cosine")
def warmup_cosine(total_steps, steps_per_epoch, lr_max, lr_init=0.0, lr_end=0.0, warmup_epochs=0):
    """``lr_end + (lr_max - lr_end) * (1 + cos(pi * progress)) / 2``."""
    return _schedule(total_steps, steps_per_epoch, warmup_epochs, lr_init, lr_max,
                     lambda p: lr_end + (lr_max - lr_end) * (1.0 + math.cos(math.pi * p)) / 2)
