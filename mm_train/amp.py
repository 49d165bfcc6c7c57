"""Loss scale: ``loss_scale: {type: none | fixed, scale: 1024, drop_overflow_update: false}``.

With a fixed scale and ``drop_overflow_update: false`` MindSpore trains with the
plain one-step cell: the loss is scaled by ``scale`` and the optimizer divides
the gradients by the same number, so both get it.
"""
from __future__ import annotations

from typing import Any, Mapping

from mm_train.errors import ConfigError, closest

TYPES = ("none", "fixed", "dynamic")


def build_loss_scale(spec: Mapping[str, Any], target: str, where: str = "loss_scale"):
    """Return ``(loss_scale_manager or None, loss scale the optimizer divides by)``."""
    from mindspore.amp import DynamicLossScaleManager, FixedLossScaleManager

    kind = str(spec.get("type", "none"))
    if kind not in TYPES:
        raise ConfigError(f"{where}.type", f"unknown loss scale '{kind}'", expected=f"one of {list(TYPES)}",
                          suggestions=closest(kind, TYPES))
    if kind == "none":
        return None, 1.0
    if kind == "fixed":
        scale = float(spec.get("scale", 1024))
        drop = bool(spec.get("drop_overflow_update", False))
        if drop and target == "CPU":
            raise ConfigError(f"{where}.drop_overflow_update", "MindSpore cannot detect overflow on CPU",
                              expected="drop_overflow_update: false on device=cpu")
        return FixedLossScaleManager(scale, drop_overflow_update=drop), (1.0 if drop else scale)
    if target == "CPU":
        raise ConfigError(f"{where}.type", "dynamic loss scale is not supported by MindSpore on CPU",
                          expected="none, or fixed with drop_overflow_update: false on device=cpu")
    return DynamicLossScaleManager(float(spec.get("init_loss_scale", 2 ** 24)),
                                   int(spec.get("scale_factor", 2)), int(spec.get("scale_window", 2000))), 1.0
