"""The eval metrics a run reports, and which way is better: one place for every callback and report.

    better_mode("loss", "auto")    # -> "min"
    lower_is_better("val_error")   # -> True
    reported({"metrics": ["acc", "acc5"]})   # -> ["acc", "acc5", "loss"]

``train.metrics`` names what evaluation computes: ``acc`` (top-1), ``accK`` (top-K, e.g. ``acc5``)
and ``loss`` (always reported). Every name is in metrics.json, TensorBoard (``eval/NAME``) and
the sweep report, and can be ``train.metric``, ``keep_best_by`` or an EarlyStopping ``monitor``.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from mm_train.core.errors import ConfigError, closest

METRICS = ("acc", "loss")                        # what evaluation reports by default (metrics.json "final")
METRIC_PATTERN = re.compile(r"^(acc|acc([1-9][0-9]*)|loss)$")


def reported(train: Mapping[str, Any] | None) -> list[str]:
    """The eval metrics of a run: ``train.metrics`` (default ``[acc]``), and ``loss``."""
    names = list((train or {}).get("metrics") or ["acc"])
    return names + ([] if "loss" in names else ["loss"])


def metrics_errors(train: Mapping[str, Any] | None, where: str = "train.metrics") -> list[ConfigError]:
    """Each name of ``train.metrics`` is acc, accK or loss; ``train.metric`` is one of them."""
    names = (train or {}).get("metrics")
    if names is None:
        names = ["acc"]
    if not isinstance(names, list) or not names:
        return [ConfigError(where, f"got {names!r}", expected="a list such as [acc, acc5]")]
    errors = [ConfigError(f"{where}[{i}]", f"got {name!r}", expected="acc, accK (top-K accuracy, e.g. acc5) or loss",
                          suggestions=closest(str(name), ["acc", "acc5", "loss"]))
              for i, name in enumerate(names) if not isinstance(name, str) or not METRIC_PATTERN.match(name)]
    metric = (train or {}).get("metric", "acc")
    if not errors and metric not in reported(train):
        errors.append(ConfigError("train.metric", f"got {metric!r}", expected=f"one of {reported(train)} (train.metrics)",
                                  suggestions=closest(str(metric), reported(train))))
    return errors


def build_metrics(names) -> dict[str, Any]:
    """MindSpore metric objects by name: ``acc`` Accuracy, ``accK`` TopKCategoricalAccuracy(K), ``loss`` Loss."""
    from mindspore import nn
    out = {}
    for name in names:
        top = METRIC_PATTERN.match(name).group(2)
        out[name] = nn.Loss() if name == "loss" else nn.TopKCategoricalAccuracy(int(top)) if top else nn.Accuracy()
    return out
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


WATCHING = {"ModelCheckpoint": "keep_best_by", "EarlyStopping": "monitor"}   # callbacks that read an eval metric


def callback_metric_errors(callbacks: Any, train: Mapping[str, Any] | None) -> list[ConfigError]:
    """``keep_best_by: acc5`` / ``monitor: acc5`` name a metric evaluation reports, found before a run."""
    errors = []
    names = reported(train)
    for i, spec in enumerate(callbacks if isinstance(callbacks, list) else []):
        kind = spec.get("type") if isinstance(spec, Mapping) else None
        key = WATCHING.get(kind) if isinstance(kind, str) else None   # a wrong type is the registry check's to name
        value = spec.get(key) if key else None
        if isinstance(value, str) and value not in names:
            errors.append(ConfigError(f"callbacks[{i}].{key}", f"no eval metric '{value}'",
                                      expected=f"one of {names} (add it to train.metrics)",
                                      suggestions=closest(value, names)))
    return errors
