"""``Phases`` (added by the runner): keeps :mod:`mm_train.runtime.interruption` told what the run is doing.

An interrupted run's line then says "during training (epoch 4, step 12 of 44)" or "during the
compilation of the first training step".
"""
from __future__ import annotations

from mindspore.train import Callback

from mm_train.runtime import interruption


class Phases(Callback):
    def __init__(self, ctx):
        super().__init__()
        self.ctx = ctx

    def _where(self, params) -> str:
        step = self.ctx.global_step(params)
        in_epoch = step - (params.cur_epoch_num - 1) * self.ctx.steps_per_epoch
        return f"epoch {params.cur_epoch_num}, step {in_epoch} of {self.ctx.steps_per_epoch}"

    def on_train_begin(self, run_context):
        interruption.set_phase("the compilation of the first training step")

    def on_train_step_begin(self, run_context):
        if interruption.current_phase() != "the compilation of the first training step":
            interruption.set_phase(f"training ({self._where(run_context.original_args())})")

    def on_train_step_end(self, run_context):
        interruption.set_phase(f"training (after {self._where(run_context.original_args())})")

    def on_train_end(self, run_context):
        interruption.set_phase("the end of training (final files)")
