"""What callbacks know about the run (:class:`RunContext`), and reading a step's loss."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from mm_train.core.errors import ConfigError


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
