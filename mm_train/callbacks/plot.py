"""``PlotCurves`` (added by the runner): ``RUN_DIR/curves.png`` with the loss and eval curves at the end."""
from __future__ import annotations

from pathlib import Path

from mindspore.train import Callback

from mm_train.callbacks import loss_value


class PlotCurves(Callback):
    """Record the training loss per step; at the end plot it and every eval metric."""

    def __init__(self, ctx, name: str = "curves.png"):
        super().__init__()
        self.ctx, self.path = ctx, Path(ctx.run_dir) / name
        self.steps: list[int] = []
        self.losses: list[float] = []

    def on_train_step_end(self, run_context):
        params = run_context.original_args()
        self.steps.append(self.ctx.global_step(params))
        self.losses.append(loss_value(params.net_outputs))

    def on_train_end(self, run_context):
        if self.ctx.rank == 0:
            plot_curves(self.path, self.steps, self.losses, self.ctx.evaluations, self.ctx.steps_per_epoch)


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
