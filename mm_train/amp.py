"""Loss scale: ``loss_scale: {type: none | fixed, scale: 1024, drop_overflow_update: false}``.

With a fixed scale and ``drop_overflow_update: false`` MindSpore trains with the
plain one-step cell: the loss is scaled by ``scale`` and the optimizer divides
the gradients by the same number, so both get it.
"""
from __future__ import annotations

from typing import Any, Mapping

from mm_train.errors import ConfigError, closest

TYPES = ("none", "fixed", "dynamic")
KEYS = {"none": (), "fixed": ("scale", "drop_overflow_update"),
        "dynamic": ("init_loss_scale", "scale_factor", "scale_window")}


def loss_scale_errors(spec: Any, target: str, where: str = "loss_scale") -> list[ConfigError]:
    """Every problem of the ``loss_scale`` section, device included, without building it."""
    if not isinstance(spec, Mapping):
        return [ConfigError(where, f"got {spec!r}", expected="a mapping like {type: fixed, scale: 1024}")]
    kind = str(spec.get("type", "none"))
    if kind not in TYPES:
        return [ConfigError(f"{where}.type", f"unknown loss scale '{kind}'", expected=f"one of {list(TYPES)}",
                            suggestions=closest(kind, TYPES))]
    allowed = KEYS[kind]
    errors = [ConfigError(f"{where}.{key}", f"unknown key for loss scale '{kind}'", expected=f"one of {list(allowed)}",
                          suggestions=closest(str(key), allowed)) for key in spec if key != "type" and key not in allowed]
    if target == "CPU" and kind == "dynamic":
        errors.append(ConfigError(f"{where}.type", "dynamic loss scale is not supported by MindSpore on CPU",
                                  expected="none, or fixed with drop_overflow_update: false on device=cpu"))
    if target == "CPU" and kind == "fixed" and spec.get("drop_overflow_update", False):
        errors.append(ConfigError(f"{where}.drop_overflow_update", "MindSpore cannot detect overflow on CPU",
                                  expected="drop_overflow_update: false on device=cpu"))
    return errors


def build_loss_scale(spec: Mapping[str, Any], target: str, where: str = "loss_scale"):
    """Return ``(loss_scale_manager or None, loss scale the optimizer divides by)``."""
    from mindspore.amp import DynamicLossScaleManager, FixedLossScaleManager

    errors = loss_scale_errors(spec, target, where)
    if errors:
        raise ConfigError.collect(errors)
    kind = str(spec.get("type", "none"))
    if kind == "none":
        return None, 1.0
    if kind == "fixed":
        scale = float(spec.get("scale", 1024))
        drop = bool(spec.get("drop_overflow_update", False))
        return FixedLossScaleManager(scale, drop_overflow_update=drop), (1.0 if drop else scale)
    return DynamicLossScaleManager(float(spec.get("init_loss_scale", 2 ** 24)),
                                   int(spec.get("scale_factor", 2)), int(spec.get("scale_window", 2000))), 1.0
