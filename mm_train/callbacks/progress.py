"""``ProgressBar``: one updating line (epoch, step, loss, images/s, ETA) on a terminal.

    - {type: ProgressBar}             # quiet when stdout is not a terminal (logs, CI)
    - {type: ProgressBar, force: true}
"""
from __future__ import annotations

import sys
import time

from mindspore.train import Callback

from mm_train.callbacks.context import loss_value
from mm_train.registry import CALLBACKS


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress(Callback):
    def __init__(self, ctx, stream, width: int = 30):
        super().__init__()
        self.ctx, self.stream, self.width = ctx, stream, width
        self.started = self.step_started = None
        self.done = 0

    def on_train_begin(self, run_context):
        self.started = time.perf_counter()

    def on_train_step_begin(self, run_context):
        self.step_started = time.perf_counter()

    def on_train_step_end(self, run_context):
        params = run_context.original_args()
        self.done += 1
        step = self.ctx.global_step(params)
        total = self.ctx.steps_per_epoch * self.ctx.epochs
        in_epoch = step - (params.cur_epoch_num - 1) * self.ctx.steps_per_epoch
        elapsed = time.perf_counter() - self.started
        rate = self.ctx.batch_size / max(time.perf_counter() - self.step_started, 1e-9)
        eta = elapsed / self.done * (total - step)
        filled = int(self.width * in_epoch / self.ctx.steps_per_epoch)
        self.stream.write(f"\repoch {params.cur_epoch_num}/{self.ctx.epochs} "
                          f"[{'#' * filled}{'.' * (self.width - filled)}] {in_epoch}/{self.ctx.steps_per_epoch} "
                          f"loss {loss_value(params.net_outputs):.4f} {rate:.0f} img/s ETA {_clock(eta)}")
        if in_epoch == self.ctx.steps_per_epoch:
            self.stream.write("\n")
        self.stream.flush()


class Quiet(Callback):
    """What ProgressBar becomes when stdout is not a terminal."""


@CALLBACKS.register("ProgressBar")
def progress_bar(ctx, force: bool = False):
    if not force and not sys.stdout.isatty():
        return Quiet()
    return Progress(ctx, sys.stdout)
