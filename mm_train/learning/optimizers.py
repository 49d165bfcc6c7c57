"""Optimizers by name, with parameter groups and gradient clipping.

    optimizer:
      type: Momentum                 # Momentum SGD Adam AdamW AdamWeightDecay RMSProp LARS Lamb
      momentum: 0.9
      weight_decay: 1.0e-4
      no_decay: [gamma, beta, bias]  # name fragments that get no weight decay (the default)
      clip_grad_norm: 5.0            # clip gradients by global norm (optional)
      param_groups:                  # optional; first matching group wins
        - {params: ["end_point.*"], lr_scale: 10.0, weight_decay: 0.0}

Parameters whose name contains a ``no_decay`` fragment get no weight decay (the
model zoo's rule for BatchNorm and biases). ``layer_decay`` is layer-wise learning-rate
decay for transformer fine-tuning (BEiT, timm's ``param_groups_layer_decay``)::

    layer_decay: {rate: 0.65, blocks: "encoder.layers.{i}.*",
                  stem: ["conv_proj.*", "class_token.*", "encoder.pos_embedding.*"]}

The stem is layer 0, block ``i`` layer ``i + 1``, everything else (final norm, head) layer
``depth + 1``; a parameter of layer ``k`` gets ``lr x rate ** (depth + 1 - k)``. It applies to
the parameters no ``param_groups`` entry took. ``params`` of a group are glob
patterns over parameter names; ``lr_scale`` multiplies the schedule for the
group. The learning rate comes from ``lr_schedule``; the train step
(:mod:`mm_train.learning.train_step`) unscales the loss scale before clipping, so the
optimizers here run with ``loss_scale=1``.
"""
from __future__ import annotations

import fnmatch
import inspect
import warnings
from typing import Any, Mapping, Optional, Sequence, Union

import mindspore as ms
from mindspore import nn, ops

from mm_train.core.argtypes import Epsilon, Fraction, NonNegativeFloat, PositiveFloat, UnitInterval, type_problem
from mm_train.core.errors import ConfigError
from mm_train.registry import OPTIMIZERS

DEFAULT_NO_DECAY = ("gamma", "beta", "bias")
PARAM_GROUP_KEYS = ("params", "lr_scale", "weight_decay")
LAYER_DECAY_KEYS = ("rate", "blocks", "stem")


@OPTIMIZERS.register("Momentum")
def momentum(params, learning_rate, loss_scale: float = 1.0, momentum: Fraction = 0.9, nesterov: bool = False):
    return nn.Momentum(params, learning_rate, float(momentum), use_nesterov=nesterov, loss_scale=loss_scale)


@OPTIMIZERS.register("SGD")
def sgd(params, learning_rate, loss_scale: float = 1.0, momentum: Fraction = 0.0, dampening: UnitInterval = 0.0,
        nesterov: bool = False):
    return nn.SGD(params, learning_rate, float(momentum), float(dampening), nesterov=nesterov,
                  loss_scale=loss_scale)


@OPTIMIZERS.register("Adam")
def adam(params, learning_rate, loss_scale: float = 1.0, beta1: Fraction = 0.9, beta2: Fraction = 0.999, eps: Epsilon = 1e-8,
         use_amsgrad: bool = False):
    return nn.Adam(params, learning_rate, beta1, beta2, eps, loss_scale=loss_scale, use_amsgrad=use_amsgrad)


@OPTIMIZERS.register("AdamWeightDecay")
def adam_weight_decay(params, learning_rate, beta1: Fraction = 0.9, beta2: Fraction = 0.999, eps: Epsilon = 1e-6):
    """AdamW: decoupled weight decay (the group's ``weight_decay``)."""
    return nn.AdamWeightDecay(params, learning_rate, beta1, beta2, eps)


class PlainOpsUpdate:
    """MindSpore's optimizer dispatch (group lr / group / single) for an update written as a MultitypeFuncGraph.

    ``update(hyper, step, lr, weight_decay, param, m, v, gradient, decay_flag, optim_filter)`` runs for every
    parameter, ``hyper`` the optimizer's own constants as one tuple; with parameter groups the learning rate
    (``is_group_lr``) and the weight decay (``is_group``) are per parameter, as in MindSpore's optimizers.
    Mixed into an ``nn.Optimizer`` with ``moments1`` and ``moments2`` (AdamW, Lamb below).
    """

    def apply_update(self, update, hyper, gradients):
        weight_decay = self.get_weight_decay()
        lr = self.get_lr()
        self.assignadd(self.global_step, self.global_step_increase_tensor)
        step = self.global_step
        if self.is_group:
            if self.is_group_lr:
                return self.hyper_map(ops.partial(update, hyper, step), lr, weight_decay, self._parameters,
                                      self.moments1, self.moments2, gradients, self.decay_flags, self.optim_filter)
            return self.hyper_map(ops.partial(update, hyper, step, lr), weight_decay, self._parameters, self.moments1,
                                  self.moments2, gradients, self.decay_flags, self.optim_filter)
        return self.hyper_map(ops.partial(update, hyper, step, lr, weight_decay), self._parameters, self.moments1,
                              self.moments2, gradients, self.decay_flags, self.optim_filter)


_adamw_step = ops.MultitypeFuncGraph("adamw_step")


@_adamw_step.register("Tuple", "Tensor", "Tensor", "Tensor", "Tensor", "Tensor", "Tensor", "Tensor", "Bool", "Bool")
def _adamw_update(hyper, step, lr, weight_decay, param, m, v, gradient, decay_flag, optim_filter):
    """torch.optim.AdamW: ``p *= 1 - lr * wd``, then ``p -= lr * m_hat / (sqrt(v_hat) + eps)``."""
    if not optim_filter:
        return gradient
    beta1, beta2, eps = hyper
    step = ops.cast(step, ms.float32)
    if decay_flag:
        param_now = param * (1.0 - lr * weight_decay)
    else:
        param_now = param
    m_new = beta1 * m + (1.0 - beta1) * gradient
    v_new = beta2 * v + (1.0 - beta2) * ops.square(gradient)
    denom = ops.sqrt(v_new) / ops.sqrt(1.0 - ops.pow(beta2, step)) + eps
    update = m_new / denom * (lr / (1.0 - ops.pow(beta1, step)))
    ops.assign(m, m_new)
    ops.assign(v, v_new)
    return ops.assign(param, param_now - update)


class AdamW(PlainOpsUpdate, nn.AdamWeightDecay):
    """torch.optim.AdamW in plain ops: bias-corrected moments, weight decay decoupled and scaled by lr.

    MindSpore's ``AdamWeightDecay`` differs: no bias correction (``m / (sqrt(v) + eps)``).
    """

    def construct(self, gradients):
        return self.apply_update(_adamw_step, (self.beta1, self.beta2, self.eps), gradients)


@OPTIMIZERS.register("AdamW")
def adamw(params, learning_rate, beta1: Fraction = 0.9, beta2: Fraction = 0.999, eps: Epsilon = 1e-8):
    """torch's AdamW (defaults as torch's; ``weight_decay`` from the optimizer section, torch's default 0.01
    is not implied)."""
    return AdamW(params, learning_rate, beta1, beta2, eps)


@OPTIMIZERS.register("RMSProp")
def rmsprop(params, learning_rate, loss_scale: float = 1.0, decay: Fraction = 0.9, momentum: Fraction = 0.0,
            epsilon: Epsilon = 1e-10, centered: bool = False):
    return nn.RMSProp(params, learning_rate, decay, float(momentum), epsilon, centered=centered,
                      loss_scale=loss_scale)


_lamb_step = ops.MultitypeFuncGraph("lamb_step")


@_lamb_step.register("Tuple", "Tensor", "Tensor", "Tensor", "Tensor", "Tensor", "Tensor", "Tensor", "Bool", "Bool")
def _lamb_update(hyper, step, lr, weight_decay, param, m, v, gradient, decay_flag, optim_filter):
    """One LAMB update in plain ops: Adam direction ``r`` (+ ``wd * w``), scaled by ``|w| / |r|`` for
    parameters with weight decay, or all of them with ``always_adapt`` (timm's rule); ``trust_clip``
    caps the ratio at 1."""
    if not optim_filter:
        return gradient
    always_adapt, trust_clip, beta1, beta2, eps = hyper
    step = ops.cast(step, ms.float32)
    m_new = beta1 * m + (1.0 - beta1) * gradient
    v_new = beta2 * v + (1.0 - beta2) * ops.square(gradient)
    m_hat = m_new / (1.0 - ops.pow(beta1, step))
    v_hat = v_new / (1.0 - ops.pow(beta2, step))
    update = m_hat / (ops.sqrt(v_hat) + eps)
    if decay_flag:
        update = update + weight_decay * param
    if always_adapt or decay_flag:
        w_norm = ops.norm(param)
        r_norm = ops.norm(update)
        trust = ops.select(ops.logical_and(w_norm > 0, r_norm > 0), w_norm / r_norm, ops.ones_like(w_norm))
        if trust_clip:
            trust = ops.minimum(trust, ops.ones_like(trust))
        update = trust * update
    ops.assign(m, m_new)
    ops.assign(v, v_new)
    return ops.assign(param, param - lr * update)


class Lamb(PlainOpsUpdate, nn.Lamb):
    """MindSpore's Lamb with the update in plain ops, so it also runs on CPU (no ``Lamb`` kernel there)."""

    def __init__(self, params, learning_rate, beta1, beta2, eps, always_adapt: bool = True, trust_clip: bool = False):
        super().__init__(params, learning_rate, beta1, beta2, eps)
        self.always_adapt, self.trust_clip = bool(always_adapt), bool(trust_clip)

    def construct(self, gradients):
        return self.apply_update(_lamb_step, (self.always_adapt, self.trust_clip, self.beta1, self.beta2, self.eps),
                                 gradients)


@OPTIMIZERS.register("Lamb")
def lamb(params, learning_rate, beta1: Fraction = 0.9, beta2: Fraction = 0.999, eps: Epsilon = 1e-6,
         always_adapt: bool = True, trust_clip: bool = False):
    """LAMB with bias correction. ``always_adapt: true`` (MindSpore's nn.Lamb) scales every parameter's
    update by its trust ratio; ``false`` is timm's default: only parameters with weight decay."""
    return Lamb(params, learning_rate, beta1, beta2, eps, always_adapt, trust_clip)


def _lars_update(epsilon: float, coefficient: float):
    """``LARSUpdate`` in plain ops (MindSpore has no CPU kernel for it): layer-wise trust ratio
    ``coefficient * |w| / (|g| + wd * |w| + epsilon)`` (1 if a norm is 0) times ``g + wd * w``."""
    def update(weight, gradient, w_square_sum, grad_square_sum, weight_decay, learning_rate):
        w_norm = ops.sqrt(w_square_sum)
        g_norm = ops.sqrt(grad_square_sum)
        ratio = coefficient * w_norm / (g_norm + weight_decay * w_norm + epsilon)
        ratio = ops.select(ops.logical_and(w_norm > 0, g_norm > 0), ratio, ops.ones_like(ratio))
        return ratio * (gradient + weight_decay * weight)
    return update


@OPTIMIZERS.register("LARS")
def lars(params, learning_rate, loss_scale: float = 1.0, momentum: Fraction = 0.9, epsilon: Epsilon = 1e-5,
         coefficient: PositiveFloat = 0.001, no_decay=DEFAULT_NO_DECAY):
    """Momentum wrapped in LARS layer-wise rate scaling; ``no_decay`` parameters keep the plain rate."""
    inner = nn.Momentum(params, learning_rate, float(momentum), loss_scale=loss_scale)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optimizer = nn.LARS(inner, epsilon=float(epsilon), coefficient=float(coefficient),
                            lars_filter=lambda p: not any(s in p.name for s in no_decay))
    optimizer.lars = _lars_update(float(epsilon), float(coefficient))
    return optimizer


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def layer_ids(names: Sequence[str], spec: Mapping[str, Any], where: str = "optimizer.layer_decay") -> dict[str, int]:
    """Each name's layer: stem 0, ``blocks`` index i -> i + 1, the rest depth + 1 (BEiT's rule)."""
    import re
    if not isinstance(spec, Mapping) or set(spec) - set(LAYER_DECAY_KEYS) or "blocks" not in spec \
            or "rate" not in spec:
        raise ConfigError(where, f"got {spec!r}",
                          expected='{rate: 0.65, blocks: "encoder.layers.{i}.*", stem: [GLOB, ...]}')
    blocks = str(spec["blocks"])
    if blocks.count("{i}") != 1:
        raise ConfigError(f"{where}.blocks", f"got {blocks!r}", expected="a glob with one {i}: the block index")
    pattern = re.compile("^" + ".*".join(re.escape(part).replace(r"\{i\}", r"(\d+)")
                                         for part in blocks.split("*")) + "$")
    stem = [spec["stem"]] if isinstance(spec.get("stem"), str) else list(spec.get("stem") or [])
    found = {n: int(m.group(1)) + 1 for n in names if (m := pattern.match(n))}
    if not found:
        raise ConfigError(f"{where}.blocks", f"{blocks!r} matches no parameter",
                          expected="a glob over names such as " + ", ".join(list(names)[:3]))
    depth = max(found.values())
    return {n: 0 if _matches(n, stem) else found.get(n, depth + 1) for n in names}


def param_groups(params: Sequence, weight_decay: float, no_decay: Sequence[str],
                 groups: Sequence[Mapping[str, Any]] = (), learning_rate=None,
                 where: str = "optimizer.param_groups", layer_decay: Mapping[str, Any] | None = None
                 ) -> list[dict[str, Any]]:
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
        unknown = [k for k in spec if k not in PARAM_GROUP_KEYS]
        if unknown:
            raise ConfigError(f"{here}.{unknown[0]}", "unknown key", expected=f"one of {list(PARAM_GROUP_KEYS)}")
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
    if layer_decay:
        where_ld = where.replace("param_groups", "layer_decay")
        ids = layer_ids([p.name for p in rest], layer_decay, where_ld)
        top, rate = max(ids.values()), float(layer_decay["rate"])
        for layer in sorted(set(ids.values())):
            members = [p for p in rest if ids[p.name] == layer]
            scale = rate ** (top - layer)
            extra = {"lr": learning_rate * scale} if scale != 1.0 else {}
            result += _split_decay(members, float(weight_decay), no_decay, extra)
        return result + [{"order_params": params}]
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


def optimizer_errors(spec: Any, where: str = "optimizer") -> list[ConfigError]:
    """Every problem of the ``optimizer`` section without building it (OPTIMIZERS' ``check_func``): the
    factory's arguments, then the keys build_optimizer reads itself (weight_decay, no_decay, param_groups,
    clip_grad_norm)."""
    return OPTIMIZERS.check_spec(spec, where) + optimizer_key_errors(spec, where)


def optimizer_key_errors(spec: Any, where: str = "optimizer") -> list[ConfigError]:
    """The keys build_optimizer reads itself: weight_decay, no_decay, param_groups, clip_grad_norm."""
    if not isinstance(spec, Mapping):
        return []
    errors = []
    for key, hint in (("weight_decay", NonNegativeFloat), ("clip_grad_norm", Optional[PositiveFloat]),
                      ("no_decay", Sequence[str])):
        if key in spec and (expected := type_problem(spec[key], hint)):
            errors.append(ConfigError(f"{where}.{key}", f"got {spec[key]!r}", expected=expected))
    groups = spec.get("param_groups")
    if groups is not None and not isinstance(groups, list):
        return errors + [ConfigError(f"{where}.param_groups", f"got {groups!r}",
                                     expected="a list of {params: [GLOB, ...], lr_scale: X, weight_decay: X}")]
    for i, group in enumerate(groups or []):
        here = f"{where}.param_groups[{i}]"
        if not isinstance(group, Mapping):
            errors.append(ConfigError(here, f"got {group!r}", expected="{params: [GLOB, ...], lr_scale: X}"))
            continue
        params = group.get("params")
        if type_problem(params, Union[str, Sequence[str]]):
            errors.append(ConfigError(f"{here}.params", f"got {params!r}", expected="a glob or a list of globs"))
        for key in ("lr_scale", "weight_decay"):
            if key in group and (expected := type_problem(group[key], float)):
                errors.append(ConfigError(f"{here}.{key}", f"got {group[key]!r}", expected=expected))
    return errors


def build_optimizer(spec: Mapping[str, Any], params: Sequence, learning_rate, loss_scale: float = 1.0,
                    where: str = "optimizer"):
    """The optimizer named by ``spec['type']`` over ``params``; ``learning_rate`` a float or per-step Tensor."""
    weight_decay = spec.get("weight_decay", 0.0)
    no_decay = spec.get("no_decay", DEFAULT_NO_DECAY)
    groups = spec.get("param_groups") or []
    factory = OPTIMIZERS.get(spec.get("type"), f"{where}.type")
    names = list(inspect.signature(factory).parameters)
    given = {"loss_scale": loss_scale} if "loss_scale" in names else {}
    if "no_decay" in names:
        given["no_decay"] = tuple(no_decay)
    errors = OPTIMIZERS.check_spec(spec, where)     # argument errors before group errors
    if errors:
        raise ConfigError.collect(errors)
    grouped = param_groups(params, weight_decay, no_decay, groups, learning_rate, f"{where}.param_groups",
                           spec.get("layer_decay"))
    return OPTIMIZERS.build_checked(spec, where, grouped, learning_rate, **given)   # checked above
