"""Learning-rate schedules, computed per step as a float32 array.

Each schedule takes ``total_steps`` and ``steps_per_epoch`` and its own keywords.
Every one has a linear warmup from ``lr_init`` to the peak rate over
``warmup_epochs``; ``progress`` below runs from 0 to 1 over the steps after it::

    lr_schedule: {type: cosine, lr_max: 0.1, lr_end: 0.0, warmup_epochs: 5}
    lr_schedule: {type: multistep, lr_max: 0.1, milestones: [30, 60], gamma: 0.1}
    lr_schedule: {type: cosine, lr_max: 0.1, scale_by_batch: {base_batch_size: 256}}

``scale_by_batch`` multiplies the peak rate (``lr_max``, or ``lr`` of ``constant``)
by ``global batch / base_batch_size`` (global batch = batch size x devices), the
linear scaling rule of Goyal et al. ``warmup_poly``/``warmup_cosine`` are the
older names of ``poly``/``cosine``.

Three keys work with every schedule::

    by_epoch: true        # the rate changes once per epoch (torchvision, timm, MMPretrain): the schedule
                          # is computed over epochs and held for every step of an epoch
    by_epoch: after_warmup   # warm-up per step, the decay per epoch (MMPretrain's convert_to_iter_based warm-up)
    warmup_factor: 0.01   # warm-up starts at 0.01 x the peak (torchvision's lr_warmup_decay) instead of lr_init
    lr_schedule: {type: onecycle, lr_max: 0.1, pct_start: 0.3, div_factor: 25, final_div_factor: 1.0e4,
                  anneal_strategy: cos, cycle_momentum: true, base_momentum: 0.85, max_momentum: 0.95}

``onecycle`` is torch's ``OneCycleLR``; with ``cycle_momentum`` the optimizer's momentum
(Momentum, SGD) runs the other way, from ``max_momentum`` to ``base_momentum`` and back.
"""
from __future__ import annotations

import math
from typing import Any, Literal, Mapping, Sequence

import numpy as np

from mm_train.core.argtypes import NonNegativeInt, PositiveInt
from mm_train.core.errors import ConfigError
from mm_train.registry import LR_SCHEDULES


def _schedule(total_steps: int, steps_per_epoch: int, warmup_epochs: float, lr_init: float,
              lr_max: float, decay, warmup_prefix: bool = True) -> np.ndarray:
    """``decay(progress, step)`` after ``warmup_epochs`` of linear warmup from ``lr_init`` to ``lr_max``.

    ``warmup_prefix: false`` (timm's default): progress counts from step 0, not from the warmup's end.
    """
    warmup_steps = min(int(round(warmup_epochs * steps_per_epoch)), total_steps)
    start = warmup_steps if warmup_prefix else 0
    lrs = []
    for step in range(total_steps):
        if step < warmup_steps:
            lrs.append(lr_init + (lr_max - lr_init) * step / warmup_steps)
        else:
            lrs.append(decay((step - start) / max(1, total_steps - start), step))
    return np.asarray(lrs, dtype=np.float32)


@LR_SCHEDULES.register("constant")
def constant(total_steps, steps_per_epoch, lr: float, warmup_epochs: float = 0, lr_init: float = 0.0):
    """``lr``."""
    return _schedule(total_steps, steps_per_epoch, warmup_epochs, lr_init, lr, lambda p, s: lr)


@LR_SCHEDULES.register("step")
def step(total_steps, steps_per_epoch, lr_max: float, step_epochs: PositiveInt, gamma: float = 0.1,
         warmup_epochs: float = 0, lr_init: float = 0.0):
    """``lr_max * gamma ** floor(epoch / step_epochs)``, epoch counted from the start (as a float)."""
    size = step_epochs * steps_per_epoch
    return _schedule(total_steps, steps_per_epoch, warmup_epochs, lr_init, lr_max,
                     lambda p, s: lr_max * gamma ** math.floor(s / size))


@LR_SCHEDULES.register("multistep")
def multistep(total_steps, steps_per_epoch, lr_max: float, milestones: Sequence[NonNegativeInt], gamma: float = 0.1,
              warmup_epochs: float = 0, lr_init: float = 0.0):
    """``lr_max * gamma ** (number of milestones (epochs) already reached)``."""
    bounds = sorted(m * steps_per_epoch for m in milestones)
    return _schedule(total_steps, steps_per_epoch, warmup_epochs, lr_init, lr_max,
                     lambda p, s: lr_max * gamma ** sum(s >= b for b in bounds))


@LR_SCHEDULES.register("cosine")
def cosine(total_steps, steps_per_epoch, lr_max: float, lr_init: float = 0.0, lr_end: float = 0.0,
           warmup_epochs: float = 0, warmup_prefix: bool = True):
    """``lr_end + (lr_max - lr_end) * (1 + cos(pi * progress)) / 2``; ``warmup_prefix: false`` is timm's
    ``CosineLRScheduler`` default (the cosine runs from step 0, warmup overlays its start)."""
    return _schedule(total_steps, steps_per_epoch, warmup_epochs, lr_init, lr_max,
                     lambda p, s: lr_end + (lr_max - lr_end) * (1.0 + math.cos(math.pi * p)) / 2, warmup_prefix)


@LR_SCHEDULES.register("poly")
def poly(total_steps, steps_per_epoch, lr_max: float, lr_init: float = 0.0, lr_end: float = 0.0,
         warmup_epochs: float = 0, power: float = 2.0):
    """The model zoo's ResNet "poly": ``lr_end + (lr_max - lr_end) * (1 - progress) ** power``."""
    return _schedule(total_steps, steps_per_epoch, warmup_epochs, lr_init, lr_max,
                     lambda p, s: lr_end + (lr_max - lr_end) * (1.0 - p) ** power)


@LR_SCHEDULES.register("linear")
def linear(total_steps, steps_per_epoch, lr_max: float, lr_init: float = 0.0, lr_end: float = 0.0,
           warmup_epochs: float = 0):
    """``lr_max + (lr_end - lr_max) * progress``."""
    return _schedule(total_steps, steps_per_epoch, warmup_epochs, lr_init, lr_max,
                     lambda p, s: lr_max + (lr_end - lr_max) * p)


def _onecycle_phases(total_steps: int, pct_start: float, three_phase: bool, low, high, final):
    """torch's OneCycleLR phases: ``(end_step, start_value, end_value)``, annealed from the previous end."""
    if three_phase:
        return [(float(pct_start * total_steps) - 1, low, high),
                (float(2 * pct_start * total_steps) - 2, high, low),
                (total_steps - 1, low, final)]
    return [(float(pct_start * total_steps) - 1, low, high), (total_steps - 1, high, final)]


def _onecycle_values(total_steps: int, phases, anneal_strategy: str) -> np.ndarray:
    def anneal(start, end, pct):
        if anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start
    values = []
    for step in range(total_steps):
        start_step = 0.0
        for i, (end_step, start, end) in enumerate(phases):
            if step <= end_step or i == len(phases) - 1:
                values.append(anneal(start, end, (step - start_step) / max(end_step - start_step, 1e-12)))
                break
            start_step = end_step
    return np.asarray(values, dtype=np.float32)


@LR_SCHEDULES.register("onecycle")
def onecycle(total_steps, steps_per_epoch, lr_max: float, pct_start: float = 0.3, div_factor: float = 25.0,
             final_div_factor: float = 1e4, anneal_strategy: Literal["cos", "linear"] = "cos",
             three_phase: bool = False, cycle_momentum: bool = True, base_momentum: float = 0.85,
             max_momentum: float = 0.95):
    """torch's ``OneCycleLR``: from ``lr_max / div_factor`` up to ``lr_max`` over ``pct_start`` of the
    steps, then down to ``lr_max / div_factor / final_div_factor``. The momentum keys are read by
    :func:`build_momentum_schedule`."""
    initial = lr_max / div_factor
    return _onecycle_values(total_steps, _onecycle_phases(total_steps, pct_start, three_phase, initial, lr_max,
                                                          initial / final_div_factor), anneal_strategy)


LR_SCHEDULES.register("warmup_poly", poly)
LR_SCHEDULES.register("warmup_cosine", cosine)


def build_lr_schedule(spec: Mapping[str, Any], total_steps: int, steps_per_epoch: int,
                      global_batch_size: int, where: str = "lr_schedule") -> np.ndarray:
    """The per-step rates of ``spec``; applies ``scale_by_batch`` to the peak rate."""
    if not isinstance(spec, Mapping) or "type" not in spec:
        raise ConfigError(where, "a lr schedule needs a 'type'", expected=f"one of {LR_SCHEDULES.names()}")
    spec = dict(spec)
    by_epoch = spec.pop("by_epoch", False)
    warmup_factor = spec.pop("warmup_factor", None)
    errors = schedule_key_errors({"by_epoch": by_epoch, "warmup_factor": warmup_factor}, where)
    if errors:
        raise ConfigError.collect(errors)
    scaling = spec.pop("scale_by_batch", None)
    if scaling:
        if not isinstance(scaling, Mapping) or not isinstance(scaling.get("base_batch_size"), int) \
                or scaling["base_batch_size"] < 1 or set(scaling) - {"base_batch_size"}:
            raise ConfigError(f"{where}.scale_by_batch", f"got {scaling!r}",
                              expected="{base_batch_size: N} with N a whole number >= 1")
        peak = "lr" if "lr" in spec else "lr_max"
        if peak not in spec:
            raise ConfigError(f"{where}.{peak}", "missing required argument")
        spec[peak] = float(spec[peak]) * global_batch_size / scaling["base_batch_size"]
    if warmup_factor is not None:
        peak = "lr" if "lr" in spec else "lr_max"
        if "lr_init" in spec:
            raise ConfigError(f"{where}.warmup_factor", "set beside lr_init: both say where warm-up starts",
                              expected="one of warmup_factor (a fraction of the peak) or lr_init (a rate)")
        spec["lr_init"] = float(warmup_factor) * float(spec.get(peak, 0.0))
    if by_epoch:
        epochs = -(-total_steps // max(steps_per_epoch, 1))
        per_epoch = np.repeat(LR_SCHEDULES.build(spec, where, epochs, 1), steps_per_epoch)[:total_steps]
        if by_epoch != "after_warmup":
            return per_epoch
        per_step = LR_SCHEDULES.build(spec, where, total_steps, steps_per_epoch)
        warmup = min(int(round(float(spec.get("warmup_epochs", 0)) * steps_per_epoch)), total_steps)
        return np.concatenate([per_step[:warmup], per_epoch[warmup:]])
    return LR_SCHEDULES.build(spec, where, total_steps, steps_per_epoch)


def warmup_note(spec: Any, total_steps: int, steps_per_epoch: int, where: str = "lr_schedule") -> str | None:
    """One ``note:`` line when the warm-up runs other than ``warmup_epochs`` says, else None: longer than
    the run (``debug=fast`` shortens the epochs under a 5-epoch warm-up), or a fraction of an epoch
    that becomes whole steps (whole epochs with ``by_epoch: true``).

    Example::

        warmup_note({"type": "cosine", "lr_max": 0.1, "warmup_epochs": 5}, 20, 10)
        # "note: lr_schedule.warmup_epochs=5 is longer than this run (2 epochs): the warm-up became the whole
        #  run (20 steps), so the rate ends at 0.095, not lr_max 0.1"
    """
    if not isinstance(spec, Mapping):
        return None
    asked = spec.get("warmup_epochs") or 0
    if isinstance(asked, bool) or not isinstance(asked, (int, float)) or asked <= 0 or steps_per_epoch < 1:
        return None
    per_epoch = spec.get("by_epoch") is True
    unit = 1 if per_epoch else steps_per_epoch
    steps = int(round(asked * unit))
    run_epochs = total_steps / steps_per_epoch
    shown = f"{asked:g}"
    if steps * (steps_per_epoch if per_epoch else 1) > total_steps:
        peak = "lr" if "lr" in spec else "lr_max"
        epochs = f"{run_epochs:g} epoch{'' if run_epochs == 1 else 's'}"
        text = (f"note: {where}.warmup_epochs={shown} is longer than this run ({epochs}): the warm-up "
                f"became the whole run ({total_steps} steps)")
        if isinstance(spec.get(peak), (int, float)) and not isinstance(spec.get(peak), bool):
            lr_init = float(spec.get("lr_init", 0.0) or 0.0)
            n = -(-total_steps // steps_per_epoch) if per_epoch else total_steps   # the ramp, squeezed into the run
            done = (n - 1) / n
            text += (f", so the rate ends at {lr_init + (float(spec[peak]) - lr_init) * done:.3g}, "
                     f"not {peak} {float(spec[peak]):g}")
        return text
    if steps != asked * unit:
        became = (f"{steps} epoch{'s' if steps != 1 else ''} ({where}.by_epoch: true changes the rate once an epoch)"
                  if per_epoch else f"{steps} steps ({steps / steps_per_epoch:g} epochs of {steps_per_epoch} steps)")
        return f"note: {where}.warmup_epochs={shown} became {became}"
    return None


SCHEDULE_KEYS = ("scale_by_batch", "by_epoch", "warmup_factor")   # read here, not by the schedule


def schedule_errors(spec: Any, where: str = "lr_schedule") -> list[ConfigError]:
    """Every problem of the ``lr_schedule`` section without building it (LR_SCHEDULES' ``check_func``)."""
    return LR_SCHEDULES.check_spec(spec, where) + schedule_key_errors(spec, where)


def schedule_key_errors(spec: Any, where: str = "lr_schedule") -> list[ConfigError]:
    """``by_epoch`` a bool, ``warmup_factor`` a number in (0, 1]."""
    if not isinstance(spec, Mapping):
        return []
    errors = []
    if not isinstance(spec.get("by_epoch", False), bool) and spec.get("by_epoch") != "after_warmup":
        errors.append(ConfigError(f"{where}.by_epoch", f"got {spec['by_epoch']!r}",
                                  expected="true, false or after_warmup"))
    factor = spec.get("warmup_factor")
    if factor is not None and (isinstance(factor, bool) or not isinstance(factor, (int, float))
                               or not 0 < factor <= 1):
        errors.append(ConfigError(f"{where}.warmup_factor", f"got {factor!r}",
                                  expected="a number in (0, 1]: the fraction of the peak warm-up starts at"))
    return errors


def build_momentum_schedule(spec: Mapping[str, Any], total_steps: int, steps_per_epoch: int) -> np.ndarray | None:
    """Per-step momentum of ``onecycle`` with ``cycle_momentum`` (default true), else None."""
    if not isinstance(spec, Mapping) or spec.get("type") != "onecycle" or not spec.get("cycle_momentum", True):
        return None
    base, top = float(spec.get("base_momentum", 0.85)), float(spec.get("max_momentum", 0.95))
    if spec.get("by_epoch"):
        epochs = -(-total_steps // max(steps_per_epoch, 1))
        return np.repeat(build_momentum_schedule({**spec, "by_epoch": False}, epochs, 1),
                         steps_per_epoch)[:total_steps]
    phases = _onecycle_phases(total_steps, float(spec.get("pct_start", 0.3)), bool(spec.get("three_phase", False)),
                              top, base, top)
    return _onecycle_values(total_steps, phases, spec.get("anneal_strategy", "cos"))
