"""``StopOnNonFiniteLoss`` (added by the runner, first): record each step's training loss in
``ctx.step_losses`` (for ``curves.png`` and ``debug=overfit``) and stop at the first NaN or inf.

Without it a diverged run goes on training NaN weights to the end, or MindSpore's
LossMonitor stops it with a bare ValueError; this stops it with one message that says
where, at which learning rate, and what to try. run.py prints it and exits 1.
"""
from __future__ import annotations

import math

from mindspore.train import Callback

from mm_train.callbacks.context import loss_value
from mm_train.core.errors import TrainingDiverged


class StopOnNonFiniteLoss(Callback):
    def __init__(self, ctx):
        super().__init__()
        self.ctx = ctx

    def on_train_step_end(self, run_context):
        params = run_context.original_args()
        step, loss = self.ctx.global_step(params), loss_value(params.net_outputs)
        self.ctx.step_losses.append((step, loss))
        if math.isfinite(loss):
            return
        lr = self.ctx.lr_at(step)
        at_lr = f" (learning rate {lr:.4g})" if lr is not None else ""
        raise TrainingDiverged(
            f"training diverged: the loss is {loss} at epoch {(step - 1) // self.ctx.steps_per_epoch + 1}, "
            f"step {step}{at_lr}; the run stopped there, keeping the checkpoints written before. "
            "Try a lower learning rate (lr_schedule.lr_max), gradient clipping (++optimizer.clip_grad_norm=1.0), "
            "or check the data (debug=small)")
