"""MindSpore's own monitors by name; every rank runs them (they only print to the rank's log).

    - {type: TimeMonitor}
    - {type: LossMonitor, per_print_times: 10}
"""
from __future__ import annotations

from typing import Optional

from mm_train.argtypes import PositiveInt

from mindspore.train import LossMonitor, TimeMonitor

from mm_train.registry import CALLBACKS


@CALLBACKS.register("TimeMonitor", every_rank=True)
def time_monitor(ctx, data_size: Optional[PositiveInt] = None):
    return TimeMonitor(data_size=data_size or ctx.steps_per_epoch)


@CALLBACKS.register("LossMonitor", every_rank=True)
def loss_monitor(ctx, per_print_times: PositiveInt = 1):
    return LossMonitor(per_print_times=per_print_times)
