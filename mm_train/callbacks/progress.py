"""``ProgressBar``: one updating line (epoch, step, loss, learning rate, images/s, ETA) on a terminal.

    - {type: ProgressBar}             # quiet when stdout is not a terminal (logs, CI): plain lines there
    - {type: ProgressBar, force: true}

The bar owns the terminal's last line: evaluation results and other messages are printed above it, the
per-step LossMonitor / TimeMonitor lines go to ``run.log`` only while it is shown, and its frames never
reach ``run.log`` (:mod:`mm_train.core.terminal`).
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
    """The bar: epoch, steps, loss, learning rate, images/s, ETA, redrawn in place on the terminal
    (:class:`mm_train.core.terminal.Bar`); evaluation results and other lines are printed above it."""

    def __init__(self, ctx, stream, width: int = 20):
        super().__init__()
        self.ctx, self.stream, self.width = ctx, stream, width
        self.started = self.step_started = None
        self.done, self.rate, self.bar = 0, None, None

    def on_train_begin(self, run_context):
        from mm_train.core.terminal import Bar, terminal_stream
        self.started = time.perf_counter()
        self.bar = Bar(terminal_stream(self.stream))

    def on_train_step_begin(self, run_context):
        self.step_started = time.perf_counter()

    def frame(self, params) -> str:
        step = self.ctx.global_step(params)
        total = self.ctx.steps_per_epoch * self.ctx.epochs
        in_epoch = step - (params.cur_epoch_num - 1) * self.ctx.steps_per_epoch
        elapsed = time.perf_counter() - self.started
        rate = self.ctx.batch_size / max(time.perf_counter() - self.step_started, 1e-9)
        self.rate = rate if self.rate is None or self.done < 3 else 0.9 * self.rate + 0.1 * rate
        eta = elapsed / self.done * (total - step)
        filled = int(self.width * in_epoch / self.ctx.steps_per_epoch)
        lr = self.ctx.lr_at(step)
        return (f"epoch {params.cur_epoch_num}/{self.ctx.epochs} [{'#' * filled}{'.' * (self.width - filled)}] "
                f"{in_epoch}/{self.ctx.steps_per_epoch} loss {loss_value(params.net_outputs):.4f}"
                + (f" lr {lr:.3g}" if lr is not None else "") + f" {self.rate:.0f} img/s ETA {_clock(eta)}")

    def on_train_step_end(self, run_context):
        self.done += 1
        if self.bar is not None:
            self.bar.show(self.frame(run_context.original_args()))

    def on_train_end(self, run_context):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Quiet(Callback):
    """What ProgressBar becomes when stdout is not a terminal."""


@CALLBACKS.register("ProgressBar")
def progress_bar(ctx, force: bool = False):
    if not force and not sys.stdout.isatty():
        return Quiet()
    return Progress(ctx, sys.stdout)
