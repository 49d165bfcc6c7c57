"""Callbacks listed in a recipe, and the evaluation that writes ``metrics.json``.

    callbacks:
      - {type: TimeMonitor}
      - {type: LossMonitor, per_print_times: 10}
      - {type: ModelCheckpoint, save_checkpoint_epochs: 1, keep_checkpoint_max: 3}

Each factory takes a :class:`RunContext` first (run directory, steps per epoch).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mindspore.train import Callback, CheckpointConfig, LossMonitor, ModelCheckpoint, TimeMonitor

from mm_train.registry import CALLBACKS


@dataclass
class RunContext:
    run_dir: Path
    steps_per_epoch: int
    epochs: int
    prefix: str


@CALLBACKS.register("TimeMonitor")
def time_monitor(ctx: RunContext, data_size=None):
    return TimeMonitor(data_size=data_size or ctx.steps_per_epoch)


@CALLBACKS.register("LossMonitor")
def loss_monitor(ctx: RunContext, per_print_times=1):
    return LossMonitor(per_print_times=per_print_times)


@CALLBACKS.register("ModelCheckpoint")
def model_checkpoint(ctx: RunContext, save_checkpoint_epochs=1, save_checkpoint_steps=None,
                     keep_checkpoint_max=5, prefix=None):
    """Save every N epochs (or N steps) into ``RUN_DIR/checkpoints``, keeping the last K."""
    steps = save_checkpoint_steps or save_checkpoint_epochs * ctx.steps_per_epoch
    config = CheckpointConfig(save_checkpoint_steps=steps, keep_checkpoint_max=keep_checkpoint_max)
    return ModelCheckpoint(prefix=prefix or ctx.prefix, directory=str(ctx.run_dir / "checkpoints"), config=config)


def write_json(path: Path, data: Any) -> None:
    """Write atomically: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class Evaluate(Callback):
    """Evaluate every ``interval`` epochs and at the last one; keep ``metrics.json`` current."""

    def __init__(self, model, dataset, run_dir: Path, interval: int, epochs: int, sink: bool):
        super().__init__()
        self.model, self.dataset, self.sink = model, dataset, sink
        self.path = Path(run_dir) / "metrics.json" if run_dir is not None else None   # None: do not write
        self.interval, self.epochs = interval, epochs
        self.history: list[dict[str, Any]] = []

    def on_train_epoch_end(self, run_context):
        params = run_context.original_args()
        epoch = params.cur_epoch_num
        if epoch == self.epochs or (self.interval and epoch % self.interval == 0):
            result = self.model.eval(self.dataset, dataset_sink_mode=self.sink)
            self.record(result, epoch=epoch, step=params.cur_step_num)

    def record(self, result: dict[str, float], **where: int) -> dict[str, Any]:
        entry = {**where, **{k: float(v) for k, v in result.items()}}
        self.history.append(entry)
        print("eval: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                   for k, v in entry.items()), flush=True)
        if self.path is not None:
            write_json(self.path, {"final": {k: float(v) for k, v in result.items()}, "history": self.history})
        return entry


class LossHistory(Callback):
    """Records the training loss of every step."""

    def __init__(self):
        super().__init__()
        self.losses: list[float] = []

    def on_train_step_end(self, run_context):
        output = run_context.original_args().net_outputs
        loss = output[0] if isinstance(output, (tuple, list)) else output
        self.losses.append(float(loss.asnumpy()))
