"""Evaluation every N epochs (and at the last), kept in ``metrics.json``::

    {"status": "running", "last": {"acc": 0.97, "loss": 0.1}, "history": [{"epoch": 1, "step": 40, "acc": ...}, ...]}

``last`` becomes ``final`` when the run finishes (:mod:`mm_train.config.run_record` keeps the status).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mindspore.train import Callback

from mm_train.data.failures import reported_data_errors
from mm_train.run_dir.files import read_json, write_json


class Evaluate(Callback):
    """Evaluate every ``interval`` epochs and at the last one; keep ``metrics.json`` current.

    ``history`` is shared with the run's callbacks (``RunContext.evaluations``); on a
    resume the entries up to ``resume_epoch`` are read back from ``metrics.json``.
    """

    def __init__(self, model, dataset, run_dir: Path, interval: int, epochs: int, sink: bool,
                 history: list | None = None, resume_epoch: int = 0, step_offset: int = 0):
        super().__init__()
        self.model, self.dataset, self.sink = model, dataset, sink
        self.path = Path(run_dir) / "metrics.json" if run_dir is not None else None   # None: do not write
        self.interval, self.epochs, self.step_offset = interval, epochs, step_offset
        self.history: list[dict[str, Any]] = history if history is not None else []
        self.notes: dict[str, Any] = {}   # more top-level keys of metrics.json ({"weights": "ema"})
        self.start_epoch = 1              # train.eval_start_epoch: no evaluation before it (the last one always)
        if resume_epoch and self.path is not None and self.path.is_file():
            try:
                old = json.loads(self.path.read_text()).get("history", [])
            except (OSError, ValueError):
                old = []
            self.history.extend(e for e in old if e.get("epoch", 0) <= resume_epoch)

    def on_train_epoch_end(self, run_context):
        params = run_context.original_args()
        epoch = params.cur_epoch_num
        if epoch == self.epochs or (self.interval and epoch % self.interval == 0 and epoch >= self.start_epoch):
            from mm_train.runtime import interruption
            with reported_data_errors(), interruption.phase(f"the evaluation after epoch {epoch}"):
                result = self.model.eval(self.dataset, dataset_sink_mode=self.sink)
            self.record(result, epoch=epoch, step=self.step_offset + params.cur_step_num)

    def record(self, result: dict[str, float], **where: int) -> dict[str, Any]:
        entry = {**where, **{k: float(v) for k, v in result.items()}}
        self.history.append(entry)
        print("eval: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                   for k, v in entry.items() if not (k == "epoch" and v == 0)),   # task=eval
              flush=True)
        if self.path is not None:   # the run's record (status, times) stays; "final" only when it finishes
            data = read_json(self.path) if self.path.is_file() else {}
            data.pop("final", None)
            write_json(self.path, {**data, "last": {k: float(v) for k, v in result.items()},
                                   "history": self.history, **self.notes})
        return entry
