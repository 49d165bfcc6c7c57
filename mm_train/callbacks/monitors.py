"""MindSpore's own monitors by name; every rank runs them (they only print to the rank's log; while a
progress bar is shown on the terminal, to the log file only).

    - {type: TimeMonitor}
    - {type: LossMonitor, per_print_times: 10}
"""
from __future__ import annotations

from typing import Optional

from mm_train.core.argtypes import PositiveInt

from mindspore.train import LossMonitor, TimeMonitor

from mm_train.registry import CALLBACKS
from mm_train.core.terminal import log_only


class _BesideTheBar:
    """A monitor whose lines go to run.log only while a progress bar shows the same on the terminal."""

    def on_train_step_end(self, run_context):
        with log_only():
            super().on_train_step_end(run_context)

    def on_train_epoch_end(self, run_context):
        with log_only():
            super().on_train_epoch_end(run_context)


class Losses(_BesideTheBar, LossMonitor):
    pass


class Times(_BesideTheBar, TimeMonitor):
    pass


@CALLBACKS.register("TimeMonitor", every_rank=True)
def time_monitor(ctx, data_size: Optional[PositiveInt] = None):
    return Times(data_size=data_size or ctx.steps_per_epoch)


@CALLBACKS.register("LossMonitor", every_rank=True)
def loss_monitor(ctx, per_print_times: PositiveInt = 1):
    return Losses(per_print_times=per_print_times)
