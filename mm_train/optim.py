"""Optimizers by name, with parameter groups and gradient clipping.

    optimizer:
      type: Momentum                 # Momentum SGD Adam AdamWeightDecay RMSProp LARS Lamb
      momentum: 0.9
      weight_decay: 1.0e-4
      no_decay: [gamma, beta, bias]  # name fragments that get no weight decay (the default)
      clip_grad_norm: 5.0            # clip gradients by global norm (optional)
      param_groups:                  # optional; first matching group wins
        - {params: ["end_point.*"], lr_scale: 10.0, weight_decay: 0.0}

Parameters whose name contains a ``no_decay`` fragment get no weight decay (the
model zoo's rule for BatchNorm and biases). ``params`` of a group are glob
patterns over parameter names; ``lr_scale`` multiplies the schedule for the
group. The learning rate comes from ``lr_schedule``; the train step
(:mod:`mm_train.train_step`) unscales the loss scale before clipping, so the
optimizers here run with ``loss_scale=1``.
"""
from __future__ import annotations

import fnmatch
import inspect
from typing import Any, Mapping, Sequence

from mindspore import nn

from mm_train.errors import ConfigError
from mm_train.registry import OPTIMIZERS, check_arguments

DEFAULT_NO_DECAY = ("gamma", "beta", "bias")
GROUP_KEYS = ("params", "lr_scale", "weight_decay")


@OPTIMIZERS.register("Momentum")
def momentum(params, learning_rate, loss_scale=1.0, momentum=0.9, nesterov=False):
    return nn.Momentum(params, learning_rate, float(momentum), use_nesterov=nesterov, loss_scale=loss_scale)


@OPTIMIZERS.register("SGD")
def sgd(params, learning_rate, loss_scale=1.0, momentum=0.0, dampening=0.0, nesterov=False):
    return nn.SGD(params, learning_rate, float(momentum), float(dampening), nesterov=nesterov,
                  loss_scale=loss_scale)


@OPTIMIZERS.register("Adam")
def adam(params, learning_rate, loss_scale=1.0, beta1=0.9, beta2=0.999, eps=1e-8, use_amsgrad=False):
    return nn.Adam(params, learning_rate, beta1, beta2, eps, loss_scale=loss_scale, use_amsgrad=use_amsgrad)


@OPTIMIZERS.register("AdamWeightDecay")
def adam_weight_decay(params, learning_rate, beta1=0.9, beta2=0.999, eps=1e-6):
    """AdamW: decoupled weight decay (the group's ``weight_decay``)."""
    return nn.AdamWeightDecay(params, learning_rate, beta1, beta2, eps)


@OPTIMIZERS.register("RMSProp")
def rmsprop(params, learning_rate, loss_scale=1.0, decay=0.9, momentum=0.0, epsilon=1e-10, centered=False):
    return nn.RMSProp(params, learning_rate, decay, float(momentum), epsilon, centered=centered,
                      loss_scale=loss_scale)


@OPTIMIZERS.register("Lamb")
def lamb(params, learning_rate, beta1=0.9, beta2=0.999, eps=1e-6):
    return nn.Lamb(params, learning_rate, beta1, beta2, eps)


@OPTIMIZERS.register("LARS")
def lars(params, learning_rate, loss_scale=1.0, momentum=0.9, epsilon=1e-5, coefficient=0.001, use_clip=False,
         no_decay=DEFAULT_NO_DECAY):
    """Momentum wrapped in LARS layer-wise rate scaling; ``no_decay`` parameters keep the plain rate."""
    inner = nn.Momentum(params, learning_rate, float(momentum), loss_scale=loss_scale)
    return nn.LARS(inner, epsilon=epsilon, coefficient=coefficient, use_clip=use_clip,
                   lars_filter=lambda p: not any(s in p.name for s in no_decay))


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def param_groups(params: Sequence, weight_decay: float, no_decay: Sequence[str],
                 groups: Sequence[Mapping[str, Any]] = (), learning_rate=None,
                 where: str = "optimizer.param_groups") -> list[dict[str, Any]]:
    """MindSpore group dicts: recipe groups first, then the decayed and the undecayed rest.

    Within every group, parameters whose name contains a ``no_decay`` fragment get no decay.
    """
    params = list(params)
    taken: set[str] = set()
    result: list[dict[str, Any]] = []

    for index, spec in enumerate(groups):
        here = f"{where}[{index}]"
        if not isinstance(spec, Mapping) or "params" not in spec:
            raise ConfigError(here, "a parameter group needs 'params'", expected="{params: [GLOB, ...], ...}")
        unknown = [k for k in spec if k not in GROUP_KEYS]
        if unknown:
            raise ConfigError(f"{here}.{unknown[0]}", "unknown key", expected=f"one of {list(GROUP_KEYS)}")
        patterns = [spec["params"]] if isinstance(spec["params"], str) else list(spec["params"])
        members = [p for p in params if p.name not in taken and _matches(p.name, patterns)]
        if not members:
            names = [p.name for p in params]
            raise ConfigError(f"{here}.params", f"{patterns} match no trainable parameter",
                              expected="glob patterns over names such as " + ", ".join(names[:4]))
        taken.update(p.name for p in members)
        decay = float(spec.get("weight_decay", weight_decay))
        extra = {}
        if "lr_scale" in spec:
            extra["lr"] = learning_rate * float(spec["lr_scale"])
        result += _split_decay(members, decay, no_decay, extra)
    rest = [p for p in params if p.name not in taken]
    result += _split_decay(rest, float(weight_decay), no_decay, {})
    return result + [{"order_params": params}]


def _split_decay(params, weight_decay: float, no_decay, extra) -> list[dict[str, Any]]:
    if not params:
        return []
    if not weight_decay:
        return [{"params": params, "weight_decay": 0.0, **extra}]
    decay = [p for p in params if not any(s in p.name for s in no_decay)]
    rest = [p for p in params if any(s in p.name for s in no_decay)]
    return ([{"params": decay, "weight_decay": weight_decay, **extra}] if decay else []) + \
           ([{"params": rest, "weight_decay": 0.0, **extra}] if rest else [])


def clip_grad_norm(spec: Mapping[str, Any], where: str = "optimizer.clip_grad_norm") -> float | None:
    """The ``clip_grad_norm`` of an optimizer spec (``None``: no clipping)."""
    value = spec.get("clip_grad_norm")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(where, f"got {value!r}", expected="a positive number (the maximum global norm)")
    return float(value)


def build_optimizer(spec: Mapping[str, Any], params: Sequence, learning_rate, loss_scale: float = 1.0,
                    where: str = "optimizer"):
    """The optimizer named by ``spec['type']`` over ``params``; ``learning_rate`` a float or per-step Tensor."""
    spec = dict(spec)
    weight_decay = spec.pop("weight_decay", 0.0)
    no_decay = spec.pop("no_decay", DEFAULT_NO_DECAY)
    groups = spec.pop("param_groups", None) or []
    spec.pop("clip_grad_norm", None)
    factory = OPTIMIZERS.get(spec.pop("type", None), f"{where}.type")
    given = {"loss_scale": loss_scale}
    check_arguments(factory, spec, where, skip=2, given=given)
    names = list(inspect.signature(factory).parameters)
    if "loss_scale" in names:
        spec["loss_scale"] = loss_scale
    if "no_decay" in names:
        spec["no_decay"] = tuple(no_decay)
    grouped = param_groups(params, weight_decay, no_decay, groups, learning_rate, f"{where}.param_groups")
    return factory(grouped, learning_rate, **spec)
