"""Callbacks listed in a recipe, and the evaluation that writes ``metrics.json``.

    callbacks:
      - {type: TimeMonitor}
      - {type: LossMonitor, per_print_times: 10}
      - {type: ModelCheckpoint, save_checkpoint_epochs: 1, keep_checkpoint_max: 3, keep_best_by: acc}
      - {type: TensorBoard}                       # RUN_DIR/tensorboard, tensorboardX event files
      - {type: ProgressBar}                       # quiet when stdout is not a terminal
      - {type: EarlyStopping, monitor: acc, patience: 3}

Each factory takes a :class:`RunContext` first. The runner always adds
:class:`StopOnNonFiniteLoss` and :class:`Evaluate` before the recipe's callbacks
(so they see this epoch's evaluation in ``ctx.evaluations``, and never a NaN loss)
and :class:`PlotCurves` after them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from mindspore.train import LossMonitor, TimeMonitor

from mm_train.registry import CALLBACKS


@dataclass
class RunContext:
    """What callbacks know about the run; ``evaluations`` grows as :class:`Evaluate` runs,
    ``step_losses`` as :class:`StopOnNonFiniteLoss` does."""
    run_dir: Path
    steps_per_epoch: int
    epochs: int
    prefix: str
    batch_size: int = 1                      # global batch (all devices)
    lr: Any = None                           # per-step learning rates (numpy), or None
    initial_step: int = 0                    # global step the run resumed from
    evaluations: list = field(default_factory=list)
    step_losses: list = field(default_factory=list)   # (global step, training loss), by StopOnNonFiniteLoss
    rank: int = 0

    def global_step(self, cb_params) -> int:
        """The step counted from the start of training, across a resume."""
        return self.initial_step + int(cb_params.cur_step_num)

    def metric_at(self, epoch: int, metric: str, where: str) -> Optional[float]:
        """``metric`` of this epoch's evaluation, or None when the epoch was not evaluated.

        ``where`` names the callback's key for the error when the evaluation lacks the metric.
        """
        latest = self.evaluations[-1] if self.evaluations else None
        if not latest or latest.get("epoch") != epoch:
            return None
        if metric not in latest:
            from mm_train.errors import ConfigError
            raise ConfigError(where, f"no eval metric '{metric}'",
                              expected=f"one of {sorted(k for k in latest if k not in ('epoch', 'step'))}")
        return latest[metric]

    def lr_at(self, step: int) -> Optional[float]:
        if self.lr is None or len(self.lr) == 0:
            return None
        return float(self.lr[min(max(step - 1, 0), len(self.lr) - 1)])


def loss_value(outputs) -> float:
    """The loss from a train network's outputs (a Tensor, or a tuple with the loss first)."""
    if isinstance(outputs, (tuple, list)):
        outputs = outputs[0]
    return float(outputs.asnumpy().mean()) if hasattr(outputs, "asnumpy") else float(outputs)


@CALLBACKS.register("TimeMonitor")
def time_monitor(ctx: RunContext, data_size=None):
    return TimeMonitor(data_size=data_size or ctx.steps_per_epoch)


@CALLBACKS.register("LossMonitor")
def loss_monitor(ctx: RunContext, per_print_times=1):
    return LossMonitor(per_print_times=per_print_times)


from mm_train.callbacks.evaluate import Evaluate, write_json  # noqa: E402
from mm_train.callbacks import checkpoint, early_stopping, plot, progress, tensorboard  # noqa: E402,F401
from mm_train.callbacks.plot import PlotCurves  # noqa: E402
from mm_train.callbacks.divergence import StopOnNonFiniteLoss  # noqa: E402

__all__ = ["CALLBACKS", "Evaluate", "PlotCurves", "RunContext", "StopOnNonFiniteLoss", "loss_value", "write_json"]
