"""The eval metrics a run reports, and which way is better: one place for every callback and report.

    better_mode("loss", "auto")    # -> "min"
    lower_is_better("val_error")   # -> True
"""
from __future__ import annotations

from mm_train.errors import ConfigError

METRICS = ("acc", "loss")                        # what evaluation reports (metrics.json "final")
LOWER_IS_BETTER = ("loss", "error", "mae", "mse")  # a metric whose name holds one of these is minimised


def lower_is_better(metric: str) -> bool:
    return any(word in metric.lower() for word in LOWER_IS_BETTER)


def better_mode(metric: str, mode: str = "auto", where: str = "callbacks.mode") -> str:
    """``min`` or ``max``: ``auto`` decides by the metric's name."""
    if mode == "auto":
        return "min" if lower_is_better(metric) else "max"
    if mode not in ("min", "max"):
        raise ConfigError(where, f"got {mode!r}", expected="auto, min or max")
    return mode
