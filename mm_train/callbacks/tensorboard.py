"""``TensorBoard``: tensorboardX event files in ``RUN_DIR/tensorboard``.

    - {type: TensorBoard, log_every_n_steps: 1}

Tags: ``train/loss``, ``train/lr``, ``train/images_per_sec`` (per logged step),
``eval/METRIC`` (per evaluation, at its global step). View with
``tensorboard --logdir RUN_DIR/tensorboard``.
"""
from __future__ import annotations

from mm_train.run_dir import paths
from mm_train.core.argtypes import PositiveInt, RunFileName

import time

from mindspore.train import Callback

from mm_train.callbacks.context import loss_value
from mm_train.core.errors import ConfigError
from mm_train.registry import CALLBACKS


class TensorBoardWriter(Callback):
    def __init__(self, ctx, every: int, subdir: str):
        super().__init__()
        self.ctx, self.every = ctx, every
        self.folder = paths.inside(ctx.run_dir, subdir, "callbacks.TensorBoard.subdir")
        self.writer, self.started, self.logged_evals = None, None, 0

    def on_train_begin(self, run_context):
        from tensorboardX import SummaryWriter
        if self.ctx.rank == 0:
            # a resume purges what a killed run logged after its checkpoint, but keeps the checkpoint's own step
            # (its evaluation is logged at that step)
            # tensorboardX names a file by the second it opens it and opens it "wb": a run resumed within the
            # same second would overwrite the earlier file, so each file also gets its number in the folder
            number = len(list(self.folder.glob("events.out.tfevents.*"))) if self.folder.is_dir() else 0
            self.writer = SummaryWriter(str(self.folder), purge_step=self.ctx.initial_step + 1 if self.ctx.initial_step
                                        else None, filename_suffix=f".{number:03d}")
        self.logged_evals = len(self.ctx.evaluations)

    def on_train_step_begin(self, run_context):
        self.started = time.perf_counter()

    def on_train_step_end(self, run_context):
        if self.writer is None:
            return
        params = run_context.original_args()
        step = self.ctx.global_step(params)
        if step % self.every:
            return
        self.writer.add_scalar("train/loss", loss_value(params.net_outputs), step)
        lr = self.ctx.lr_at(step)
        if lr is not None:
            self.writer.add_scalar("train/lr", lr, step)
        if self.started is not None:
            seconds = max(time.perf_counter() - self.started, 1e-9)
            self.writer.add_scalar("train/images_per_sec", self.ctx.batch_size / seconds, step)

    def on_train_epoch_end(self, run_context):
        if self.writer is None:
            return
        for entry in self.ctx.evaluations[self.logged_evals:]:
            for key, value in entry.items():
                if key not in ("epoch", "step"):
                    self.writer.add_scalar(f"eval/{key}", value, entry.get("step", 0))
        self.logged_evals = len(self.ctx.evaluations)
        self.writer.flush()

    def on_train_end(self, run_context):
        if self.writer is not None:
            self.writer.close()
            self.writer = None


@CALLBACKS.register("TensorBoard")
def tensorboard(ctx, log_every_n_steps: PositiveInt = 1, subdir: RunFileName = "tensorboard"):
    if not isinstance(log_every_n_steps, int) or log_every_n_steps < 1:
        raise ConfigError("callbacks.TensorBoard.log_every_n_steps", f"got {log_every_n_steps!r}",
                          expected="a whole number >= 1")
    return TensorBoardWriter(ctx, log_every_n_steps, str(subdir))
