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
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = sorted({k for e in evaluations for k in e if k not in ("epoch", "step")})
    fig, axes = plt.subplots(1, 1 + bool(metrics), figsize=(11 if metrics else 6, 4), squeeze=False)
    ax = axes[0][0]
    ax.plot(steps, losses, lw=0.8, label="train loss")
    if "loss" in metrics:
        ax.plot([e["step"] for e in evaluations if "loss" in e], [e["loss"] for e in evaluations if "loss" in e],
                "o-", label="eval loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    if metrics:
        ax = axes[0][1]
        for key in (m for m in metrics if m != "loss"):
            ax.plot([e["epoch"] for e in evaluations if key in e], [e[key] for e in evaluations if key in e],
                    "o-", label=f"eval {key}")
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    tmp = path.with_name(".tmp-" + path.name)
    fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)
    tmp.replace(path)
    return path
