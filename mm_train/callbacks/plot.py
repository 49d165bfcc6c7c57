"""``PlotCurves`` (added by the runner): ``RUN_DIR/curves.png`` with the loss and eval curves at the end."""
from __future__ import annotations

from pathlib import Path

from mindspore.train import Callback


class PlotCurves(Callback):
    """At the end, plot the training loss of every step (``ctx.step_losses``) and every eval metric."""

    def __init__(self, ctx, name: str = "curves.png"):
        super().__init__()
        self.ctx, self.path = ctx, Path(ctx.run_dir) / name

    def on_train_end(self, run_context):
        if self.ctx.rank == 0:
            steps, losses = zip(*self.ctx.step_losses) if self.ctx.step_losses else ((), ())
            plot_curves(self.path, list(steps), list(losses), self.ctx.evaluations, self.ctx.steps_per_epoch)


def plot_curves(path: Path, steps, losses, evaluations, steps_per_epoch: int) -> Path:
    """The loss by step (train, and eval where measured) and the other eval metrics by epoch, drawn with
    Pillow (:mod:`mm_train.curves_png`: matplotlib would add ~0.4 s to every run)."""
    from mm_train.curves_png import Panel, Series, write_png

    metrics = sorted({k for e in evaluations for k in e if k not in ("epoch", "step")})
    loss = Panel("step", "loss", [Series(steps, losses, "train loss")])
    if "loss" in metrics:
        loss.series.append(Series([e["step"] for e in evaluations if "loss" in e],
                                  [e["loss"] for e in evaluations if "loss" in e], "eval loss", markers=True))
    panels = [loss]
    if metrics:
        panels.append(Panel("epoch", "", [Series([e["epoch"] for e in evaluations if key in e],
                                                 [e[key] for e in evaluations if key in e], f"eval {key}",
                                                 markers=True)
                                          for key in metrics if key != "loss"]))
    return write_png(path, panels)
