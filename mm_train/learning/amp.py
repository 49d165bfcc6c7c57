"""Loss scale and mixed precision, checked against the device before anything is compiled.

    loss_scale: {type: none}
    loss_scale: {type: fixed, scale: 1024, drop_overflow_update: false}
    loss_scale: {type: dynamic, init_loss_scale: 65536, scale_factor: 2, scale_window: 2000,
                 cpu_fallback: fixed}          # optional: what to use instead on CPU
    train: {amp_level: O2}                     # O0 (fp32) .. O3 (fp16), MindSpore's levels

MindSpore on CPU cannot detect overflow, so only ``none`` and ``fixed`` with
``drop_overflow_update: false`` work there; ``dynamic`` on CPU is a ConfigError
unless ``cpu_fallback`` (``fixed`` or ``none``) asks for a logged replacement.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping

from mm_train.core.errors import ConfigError, closest

log = logging.getLogger(__name__)
TYPES = ("none", "fixed", "dynamic")
AMP_LEVELS = ("O0", "O1", "O2", "O3", "auto")
KEYS = {"fixed": {"type", "scale", "drop_overflow_update", "cpu_fallback"},
        "dynamic": {"type", "init_loss_scale", "scale_factor", "scale_window", "cpu_fallback", "scale"}}
KEYS["none"] = KEYS["fixed"] | KEYS["dynamic"]     # loss_scale.type=none over a recipe's settings


@dataclass
class LossScale:
    """What the train step does: ``kind`` none/fixed/dynamic, the (initial) scale, dynamic settings."""
    kind: str = "none"
    scale: float = 1.0
    drop_overflow_update: bool = False
    scale_factor: int = 2
    scale_window: int = 2000

    @property
    def detects_overflow(self) -> bool:
        return self.kind == "dynamic" or (self.kind == "fixed" and self.drop_overflow_update)

    def update_cell(self):
        """MindSpore's cell that holds (and for dynamic, updates) the scale."""
        from mindspore import nn
        if self.kind == "dynamic":
            return nn.DynamicLossScaleUpdateCell(self.scale, self.scale_factor, self.scale_window)
        return nn.FixedLossScaleUpdateCell(self.scale)


def loss_scale_errors(spec: Any, target: str, where: str = "loss_scale") -> list[ConfigError]:
    """Every problem of the ``loss_scale`` section, device included (checked once, by validation)."""
    if not isinstance(spec, Mapping):
        return [ConfigError(where, f"got {spec!r}", expected="a mapping like {type: fixed, scale: 1024}")]
    kind = str(spec.get("type", "none"))
    if kind not in TYPES:
        return [ConfigError(f"{where}.type", f"unknown loss scale '{kind}'", expected=f"one of {list(TYPES)}",
                            suggestions=closest(kind, TYPES))]
    unknown = [k for k in spec if k not in KEYS[kind]]
    if unknown:
        return [ConfigError(f"{where}.{k}", f"unknown key for loss_scale.type={kind}",
                            expected=f"one of {sorted(KEYS[kind])}", suggestions=closest(k, KEYS[kind]))
                for k in unknown]
    fallback = spec.get("cpu_fallback")
    if fallback is not None and fallback not in ("fixed", "none"):
        return [ConfigError(f"{where}.cpu_fallback", f"got {fallback!r}", expected="fixed or none")]
    if target != "CPU" or fallback is not None:
        return []
    if kind == "fixed" and spec.get("drop_overflow_update", False):
        return [ConfigError(f"{where}.drop_overflow_update", "MindSpore cannot detect overflow on CPU",
                            expected="loss_scale.drop_overflow_update=false on device=cpu "
                            "(or ++loss_scale.cpu_fallback=fixed)")]
    if kind == "dynamic":
        return [ConfigError(f"{where}.type", "dynamic loss scale is not supported by MindSpore on CPU "
                            "(it cannot detect overflow there)",
                            expected="loss_scale.type=none, or fixed with drop_overflow_update: false "
                            "on device=cpu, or ++loss_scale.cpu_fallback=fixed to use a fixed scale on CPU")]
    return []


def loss_scale_of(spec: Mapping[str, Any] | None, target: str, quiet: bool = False) -> LossScale:
    """What a validated ``loss_scale`` section does on ``target`` (CPU/GPU/Ascend): a requested CPU fallback
    applied, and logged unless ``quiet``."""
    spec = dict(spec or {"type": "none"})
    kind, fallback = str(spec.get("type", "none")), spec.get("cpu_fallback")
    if kind == "none":
        return LossScale()
    if kind == "fixed":
        scale = LossScale("fixed", float(spec.get("scale", 1024)), bool(spec.get("drop_overflow_update", False)))
        if scale.drop_overflow_update and target == "CPU":
            if not quiet:
                log.warning("loss_scale: drop_overflow_update is not possible on CPU; cpu_fallback=%s", fallback)
            return LossScale("fixed", scale.scale) if fallback == "fixed" else LossScale()
        return scale
    init = float(spec.get("init_loss_scale", spec.get("scale", 2 ** 16)))
    if target == "CPU":
        if not quiet:
            log.warning("loss_scale.type=dynamic is not supported on CPU; using cpu_fallback=%s%s", fallback,
                        f" with scale {init:g}" if fallback == "fixed" else "")
        return LossScale("fixed", init) if fallback == "fixed" else LossScale()
    return LossScale("dynamic", init, True, int(spec.get("scale_factor", 2)), int(spec.get("scale_window", 2000)))


def parse_loss_scale(spec: Mapping[str, Any] | None, target: str, where: str = "loss_scale",
                     quiet: bool = False) -> LossScale:
    """:func:`loss_scale_errors`, then :func:`loss_scale_of`: for a ``loss_scale`` no validation has seen."""
    if errors := loss_scale_errors(spec if spec is not None else {"type": "none"}, target, where):
        raise ConfigError.collect(errors)
    return loss_scale_of(spec, target, quiet)


def amp_level_errors(level: Any, where: str = "train.amp_level") -> list[ConfigError]:
    """``train.amp_level`` one of MindSpore's levels (checked once, by validation)."""
    if level in AMP_LEVELS:
        return []
    return [ConfigError(where, f"got {level!r}", expected=f"one of {list(AMP_LEVELS)}",
                        suggestions=closest(str(level), AMP_LEVELS))]


def check_amp_level(level: str, target: str) -> str:
    """``level`` for ``target`` (a validated config's; a note when float16 runs on CPU)."""
    if level != "O0" and target == "CPU":
        log.info("amp_level %s on CPU runs, but float16 is usually slower than float32 there", level)
    return level
