"""Momentum that follows a per-step schedule (``lr_schedule: {type: onecycle, cycle_momentum: true}``).

torch's ``OneCycleLR`` moves the optimizer's momentum against the learning rate; MindSpore's
``Momentum`` and ``SGD`` keep their momentum in a ``Parameter``, set here before each step.
"""
from __future__ import annotations

import numpy as np
from mindspore import Tensor, nn
from mindspore.train import Callback

from mm_train.core.errors import ConfigError


def find_optimizer(train_network) -> nn.Optimizer:
    for _, cell in train_network.cells_and_names():
        if isinstance(cell, nn.Optimizer):
            return cell
    raise ValueError("the train network holds no optimizer")


class CycleMomentum(Callback):
    """Before step ``s`` (counted over the whole run, resumes included) set momentum to ``values[s]``."""

    def __init__(self, train_network, values: np.ndarray, initial_step: int = 0):
        super().__init__()
        optimizer = find_optimizer(train_network)
        if not isinstance(getattr(optimizer, "momentum", None), Tensor):
            raise ConfigError("lr_schedule.cycle_momentum", f"{type(optimizer).__name__} has no momentum to cycle",
                              expected="optimizer.type Momentum or SGD, or cycle_momentum: false")
        self.momentum, self.values, self.step = optimizer.momentum, np.asarray(values, np.float32), int(initial_step)

    def on_train_step_begin(self, run_context):
        value = self.values[min(self.step, len(self.values) - 1)]
        self.momentum.set_data(Tensor(value, self.momentum.dtype))
        self.step += 1
