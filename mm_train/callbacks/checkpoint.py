"""``ModelCheckpoint``: save every N epochs or N steps (and at the end), keep the last K, keep the best.

    - {type: ModelCheckpoint, save_checkpoint_epochs: 1, keep_checkpoint_max: 3}
    - {type: ModelCheckpoint, save_checkpoint_steps: 100, keep_best_by: acc}   # also PREFIX-best.ckpt
    - {type: ModelCheckpoint, keep_checkpoint_max: 0, keep_best_by: acc5, keep_best_k: 10}   # keep all; 10 best

Checkpoints hold the whole train network (weights and optimizer state) plus
``epoch_num`` and ``step_num``, written atomically by
:func:`mm_train.runtime.checkpoints.save_atomic` into ``RUN_DIR/checkpoints``.
"""
from __future__ import annotations

from typing import Literal, Optional

from mm_train.run_dir import paths
from mm_train.core.argtypes import NonNegativeInt, PositiveInt, RunFileName

import json
import logging

from mindspore.train import Callback

from mm_train.runtime.checkpoints import checkpoint_files, checkpoint_name, save_atomic
from mm_train.core.errors import ConfigError
from mm_train.core.metrics import better_mode
from mm_train.registry import CALLBACKS
from mm_train.run_dir.files import write_json

log = logging.getLogger(__name__)


class AtomicCheckpoint(Callback):
    def __init__(self, ctx, every_steps: int | None, every_epochs: int | None, keep: int,
                 best_metric: str | None, mode: str, prefix: str):
        super().__init__()
        self.ctx, self.every_steps, self.every_epochs, self.keep = ctx, every_steps, every_epochs, keep
        self.best_metric, self.mode, self.prefix = best_metric, mode, prefix
        self.folder = ctx.run_dir / "checkpoints"
        self.best_value = None
        self.keep_best_k = 1    # the factory sets it
        self.last_saved = None
        self.written: set[str] = set()   # pruning removes only the checkpoints of this run
        if getattr(ctx, "initial_step", 0):   # resumed: the earlier sessions' checkpoints count toward keep_checkpoint_max
            self.written.update(p.name for p in checkpoint_files(self.folder) if p.name.startswith(f"{prefix}-"))
        best_json = self.folder / f"{prefix}-best.json"
        if best_metric and best_json.is_file():     # resumed: keep beating the earlier best
            self.best_value = json.loads(best_json.read_text()).get(best_metric)

    def _save(self, cb_params, name=None):
        step = self.ctx.global_step(cb_params)
        epoch = cb_params.cur_epoch_num
        in_epoch = step - (epoch - 1) * self.ctx.steps_per_epoch
        path = self.folder / (name or checkpoint_name(self.prefix, epoch, in_epoch, getattr(self.ctx, "epochs", epoch),
                                                      self.ctx.steps_per_epoch))
        if self.ctx.rank == 0:
            save_atomic(cb_params.train_network, path, {"epoch_num": epoch, "step_num": step})
        if name is None:
            self.written.add(path.name)
            self.last_saved = step
        return path

    def _prune(self):
        files = [p for p in checkpoint_files(self.folder) if p.name in self.written]
        for old in files[:-self.keep] if self.keep > 0 else []:
            old.unlink(missing_ok=True)

    def on_train_step_end(self, run_context):
        params = run_context.original_args()
        step = self.ctx.global_step(params)
        if self.every_steps and step % self.every_steps == 0:
            self._save(params)
            self._prune()

    def on_train_epoch_end(self, run_context):
        params = run_context.original_args()
        epoch, step = params.cur_epoch_num, self.ctx.global_step(params)
        due = self.every_epochs and (epoch % self.every_epochs == 0 or epoch == self.ctx.epochs)
        if due and not (self.every_steps and step % self.every_steps == 0):
            self._save(params)
            self._prune()
        if self.best_metric:
            self._keep_best(params, epoch)

    def on_train_end(self, run_context):
        """Like MindSpore's ModelCheckpoint: the last step is always saved (also after early stopping)."""
        params = run_context.original_args()
        if self.last_saved != self.ctx.global_step(params):
            self._save(params)
            self._prune()

    def _keep_best(self, params, epoch):
        value = self.ctx.metric_at(epoch, self.best_metric, "callbacks.ModelCheckpoint.keep_best_by")
        if value is None:
            return
        if self.keep_best_k > 1:
            self._keep_best_k(params, epoch, value)
        if self.best_value is None or (value > self.best_value if self.mode == "max" else value < self.best_value):
            self.best_value = value
            path = self._save(params, f"{self.prefix}-best.ckpt")
            if self.ctx.rank == 0:
                write_json(path.with_suffix(".json"), {**self.ctx.evaluations[-1], "checkpoint": path.name})
            print(f"checkpoint: new best {self.best_metric}={value:.4g} at epoch {epoch} -> {path.name}", flush=True)

    def _keep_best_k(self, params, epoch, value):
        """``keep_best_k: K`` (timm's ``checkpoint_hist``): ``PREFIX-best-EPOCH.ckpt`` for the K best
        evaluations, best first in ``PREFIX-best-k.json``; ``PREFIX-best.ckpt`` stays the single best."""
        index = self.folder / f"{self.prefix}-best-k.json"
        kept = json.loads(index.read_text()) if index.is_file() else []
        kept = [e for e in kept if e.get("epoch") != epoch]
        worst_first = sorted(kept, key=lambda e: e[self.best_metric], reverse=self.mode == "min")
        if len(kept) >= self.keep_best_k and not (value > worst_first[0][self.best_metric] if self.mode == "max"
                                                  else value < worst_first[0][self.best_metric]):
            return
        path = self._save(params, f"{self.prefix}-best-{epoch}.ckpt")
        kept.append({"epoch": epoch, self.best_metric: value, "checkpoint": path.name})
        kept.sort(key=lambda e: e[self.best_metric], reverse=self.mode == "max")
        for dropped in kept[self.keep_best_k:]:
            if self.ctx.rank == 0:
                (self.folder / dropped["checkpoint"]).unlink(missing_ok=True)
        if self.ctx.rank == 0:
            write_json(index, kept[:self.keep_best_k])


@CALLBACKS.register("ModelCheckpoint")
def model_checkpoint(ctx, save_checkpoint_epochs: Optional[PositiveInt] = 1,
                     save_checkpoint_steps: Optional[PositiveInt] = None, keep_checkpoint_max: NonNegativeInt = 5,
                     keep_best_by: Optional[str] = None, mode: Literal["auto", "min", "max"] = "auto",
                     prefix: Optional[RunFileName] = None, keep_best_k: PositiveInt = 1):
    """Save into ``RUN_DIR/checkpoints`` every N epochs (or N steps), keeping the last K (0: all);
    ``keep_best_by: METRIC`` also keeps ``PREFIX-best.ckpt`` (``mode`` min/max, auto from the name), and with
    ``keep_best_k: K`` the K best as ``PREFIX-best-EPOCH.ckpt``."""
    if keep_best_k > 1 and not keep_best_by:
        raise ConfigError("callbacks.ModelCheckpoint.keep_best_k", f"got {keep_best_k} without keep_best_by",
                          expected="keep_best_by: METRIC (the metric that ranks them)")
    for key, value in (("save_checkpoint_epochs", save_checkpoint_epochs),
                       ("save_checkpoint_steps", save_checkpoint_steps), ("keep_checkpoint_max", keep_checkpoint_max)):
        if value is not None and (not isinstance(value, int) or value < 0):
            raise ConfigError(f"callbacks.ModelCheckpoint.{key}", f"got {value!r}", expected="a whole number >= 0")
    paths.check(prefix or ctx.prefix, "callbacks.ModelCheckpoint.prefix")   # inside RUN_DIR/checkpoints
    every_epochs = None if save_checkpoint_steps else save_checkpoint_epochs
    mode = better_mode(keep_best_by, mode) if keep_best_by else mode
    callback = AtomicCheckpoint(ctx, save_checkpoint_steps, every_epochs, keep_checkpoint_max, keep_best_by, mode,
                                prefix or ctx.prefix)
    callback.keep_best_k = int(keep_best_k)
    return callback

