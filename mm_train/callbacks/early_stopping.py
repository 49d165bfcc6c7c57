"""``EarlyStopping``: stop when an eval metric has not improved for ``patience`` evaluations.

    - {type: EarlyStopping, monitor: acc, patience: 3, min_delta: 0.001}
"""
from __future__ import annotations

from typing import Literal

from mm_train.core.argtypes import NonNegativeInt

from mindspore.train import Callback

from mm_train.core.errors import ConfigError
from mm_train.core.metrics import better_mode
from mm_train.registry import CALLBACKS


class EarlyStop(Callback):
    def __init__(self, ctx, monitor: str, patience: int, min_delta: float, mode: str):
        super().__init__()
        self.ctx, self.monitor, self.patience, self.min_delta, self.mode = ctx, monitor, patience, min_delta, mode
        self.best, self.waited, self.stopped_epoch = None, 0, None

    def on_train_epoch_end(self, run_context):
        epoch = run_context.original_args().cur_epoch_num
        value = self.ctx.metric_at(epoch, self.monitor, "callbacks.EarlyStopping.monitor")
        if value is None:
            return
        improved = self.best is None or (value > self.best + self.min_delta if self.mode == "max"
                                         else value < self.best - self.min_delta)
        if improved:
            self.best, self.waited = value, 0
            return
        self.waited += 1
        if self.waited >= self.patience:
            self.stopped_epoch = epoch
            print(f"early stopping at epoch {epoch}: {self.monitor} has not improved on {self.best:.4g} "
                  f"for {self.waited} evaluations", flush=True)
            run_context.request_stop()


@CALLBACKS.register("EarlyStopping")
def early_stopping(ctx, monitor: str = "acc", patience: NonNegativeInt = 3, min_delta: float = 0.0,
                   mode: Literal["auto", "min", "max"] = "auto"):
    if not isinstance(patience, int) or patience < 1:
        raise ConfigError("callbacks.EarlyStopping.patience", f"got {patience!r}", expected="a whole number >= 1")
    return EarlyStop(ctx, monitor, patience, float(min_delta), better_mode(monitor, mode))
