"""``PlotCurves`` (added by the runner): ``RUN_DIR/curves.png`` with the loss and eval curves at the end.

The training loss of every step is also appended to ``RUN_DIR/train_loss.csv`` (``step,loss``) as it
is recorded, so a resumed run (``resume=auto``) draws the whole curve: the rows up to the step it
resumes from are kept, later ones (written by a killed run after its last checkpoint) are dropped.
"""
from __future__ import annotations

from pathlib import Path

from mindspore.train import Callback

from mm_train.run_dir import paths

LOSS_FILE = "train_loss.csv"


def read_losses(path: Path, until: int) -> list[tuple[int, float]]:
    """``(step, loss)`` rows of a loss file up to step ``until`` (none when the file is missing)."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        step, _, loss = line.partition(",")
        try:
            if int(step) <= until:
                rows.append((int(step), float(loss)))
        except ValueError:   # a line cut by a kill
            continue
    return rows


class PlotCurves(Callback):
    """At the end, plot the training loss of every step (``ctx.step_losses``, and the steps before a
    resume from ``train_loss.csv``) and every eval metric."""

    def __init__(self, ctx, name: str = "curves.png"):
        super().__init__()
        self.ctx, self.path = ctx, paths.inside(Path(ctx.run_dir), name, "PlotCurves.name")
        self.loss_path = Path(ctx.run_dir) / LOSS_FILE
        self.earlier: list[tuple[int, float]] = []
        self.log = None

    def on_train_begin(self, run_context):
        if self.ctx.rank != 0:
            return
        self.earlier = read_losses(self.loss_path, self.ctx.initial_step) if self.ctx.initial_step else []
        self.log = open(self.loss_path, "w", encoding="utf-8", buffering=1)   # line-buffered: a kill loses nothing
        self.log.write("step,loss\n" + "".join(f"{step},{loss!r}\n" for step, loss in self.earlier))

    def on_train_step_end(self, run_context):
        if self.log is not None and self.ctx.step_losses:
            step, loss = self.ctx.step_losses[-1]
            self.log.write(f"{step},{loss!r}\n")

    def on_train_end(self, run_context):
        if self.log is not None:
            self.log.close()
            self.log = None
        if self.ctx.rank == 0:
            rows = self.earlier + list(self.ctx.step_losses)
            steps, losses = zip(*rows) if rows else ((), ())
            plot_curves(self.path, list(steps), list(losses), self.ctx.evaluations, self.ctx.steps_per_epoch)


def plot_curves(path: Path, steps, losses, evaluations, steps_per_epoch: int) -> Path:
    """The loss by step (train, and eval where measured) and the other eval metrics by epoch, drawn with
    Pillow (:mod:`mm_train.reports.curves_png`: matplotlib would add ~0.4 s to every run)."""
    from mm_train.reports.curves_png import Panel, Series, write_png

    metrics = sorted({k for e in evaluations for k in e if k not in ("epoch", "step")})
    loss = Panel("step", "loss", [Series(steps, losses, "train loss")], log_y=True)
    if "loss" in metrics:
        loss.series.append(Series([e["step"] for e in evaluations if "loss" in e],
                                  [e["loss"] for e in evaluations if "loss" in e], "eval loss", markers=True))
    panels = [loss]
    if metrics:
        panels.append(Panel("epoch", "", [Series([e["epoch"] for e in evaluations if key in e],
                                                 [e[key] for e in evaluations if key in e], f"eval {key}",
                                                 markers=True)
                                          for key in metrics if key != "loss"], whole_x=True))
    return write_png(path, panels)
