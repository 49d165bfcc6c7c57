"""An exponential moving average (EMA) of the weights, updated inside the compiled train step.

    train: {ema_decay: 0.999}       # null (the default): off
    train: {ema_decay: 0.9998, ema_every: 32, ema_warmup: true}   # torchvision's model_ema_steps, timm's warm-up

After every optimizer step, for every float parameter ``w`` of the network (BatchNorm's
moving statistics included, as timm's ModelEmaV2 does)::

    ema.w = decay * ema.w + (1 - decay) * w          # ema.w starts as the initial w

``ema_every: N`` updates the average only on every N-th optimizer step (torchvision's
``model_ema_steps``; torchvision also rescales its decay per update, which a recipe writes as the
decay it ends up with). ``ema_warmup: true`` uses ``min(decay, (1 + t) / (10 + t))`` at the t-th
update (timm's ``ModelEmaV3`` warm-up), so early averages follow the weights closely.
``ema_reset_during_warmup: true`` is torchvision's reset (``references/classification/train.py``:
``if epoch < args.lr_warmup_epochs: model_ema.n_averaged.fill_(0)`` after each update): every update
made during ``lr_schedule.warmup_epochs``, and the first one after, copies the weights; the average
starts from there.
Evaluation reports both: the EMA weights as ``acc``/``loss`` and the raw ones as ``raw_acc``/``raw_loss``.

The averages are Parameters named ``ema.NAME`` of the train network, so checkpoints hold
them next to the raw weights and ``resume`` continues the average exactly. Evaluation during
training swaps them in (:func:`evaluating`), and ``init_from`` (so task=eval, export, predict)
loads them instead of the raw weights when the checkpoint has them, unless
``init_from={path: X.ckpt, ema: false}`` (:func:`with_averages`).

MindSpore 2.10 has no EMA of weights (``mindspore.nn``, ``mindspore.train`` and ``mindspore.boost``
were checked), hence this module. Example::

    step = EmaStep(train_step, network, decay=0.999)    # what build_train_network does
    with swapped(step.ema):                              # evaluate the averaged weights
        model.eval(data)
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Mapping

import mindspore as ms
from mindspore import nn, ops

from mm_train.core.errors import ConfigError

PREFIX = "ema."
_update = ops.MultitypeFuncGraph("ema_update")


@_update.register("Tensor", "Tensor", "Tensor")
def _update_one(decay, average, weight):
    return ops.assign_sub(average, (average - weight) * ops.cast(1.0 - decay, average.dtype))   # decay*avg + (1-decay)*w


class Ema(nn.Cell):
    """The averages (``ema.NAME``) of ``network``'s float parameters; calling it counts one optimizer
    step and updates them on every ``every``-th."""

    def __init__(self, network, decay: float, every: int = 1, warmup: bool = False, copy_steps: int = 0):
        """``copy_steps``: the warm-up's optimizer steps, during which (and once after) updates copy the weights."""
        super().__init__(auto_prefix=False)
        floats = (ms.float16, ms.float32, ms.float64, ms.bfloat16)
        self.weights = ms.ParameterTuple([p for p in network.get_parameters() if p.dtype in floats])
        self.averages = self.weights.clone(prefix="ema", init="same")
        for average in self.averages:
            average.requires_grad = False
        self.decay_value, self.every, self.warmup = float(decay), int(every), bool(warmup)
        self.decay = ms.Tensor(float(decay), ms.float32)
        self.copy_steps = int(copy_steps)
        self.copy_limit = ms.Tensor(self.copy_steps + self.every, ms.int32)
        if self.every > 1 or self.warmup or self.copy_steps:    # a state key of the checkpoint (resume continues the count)
            self.steps = ms.Parameter(ms.Tensor(0, ms.int32), name="ema.steps", requires_grad=False)
        self.hyper_map = ops.HyperMap()

    def construct(self):
        decay = self.decay
        if self.every > 1 or self.warmup or self.copy_steps:
            steps = ops.assign_add(self.steps, ms.Tensor(1, ms.int32))
            updates = ops.cast(steps // self.every, ms.float32)            # updates made, this one included
            if self.warmup:
                decay = ops.minimum(decay, updates / (9.0 + updates))     # (1 + t) / (10 + t), t = updates - 1
            if self.copy_steps:   # torchvision: the previous update was in warm-up (n_averaged reset): copy
                decay = ops.select(ops.less_equal(steps, self.copy_limit), ops.zeros_like(decay), decay)
            due = ops.equal(steps % self.every, 0)
            decay = ops.select(due, decay, ops.ones_like(decay))          # not due: average unchanged
        return self.hyper_map(ops.partial(_update, decay), self.averages, self.weights)


class EmaStep(nn.Cell):
    """``train_step`` (any train cell), then one EMA update of ``network``'s weights; same outputs."""

    def __init__(self, train_step, network, decay: float, every: int = 1, warmup: bool = False, copy_steps: int = 0):
        super().__init__(auto_prefix=False)
        self.step = train_step
        self.ema = Ema(network, decay, every, warmup, copy_steps)

    def construct(self, *inputs):
        outputs = self.step(*inputs)
        return ops.depend(outputs, self.ema())


def ema_of(train_network) -> Ema | None:
    """The :class:`Ema` of a train network built with ``ema_decay``, else None."""
    return getattr(train_network, "ema", None) if isinstance(train_network, EmaStep) else None


@contextmanager
def swapped(ema: Ema | None):
    """The averages in the network's parameters for the ``with`` block (the raw weights stay aside)."""
    if ema is None:
        yield
        return
    raw = [w.asnumpy().copy() for w in ema.weights]
    for weight, average in zip(ema.weights, ema.averages):
        weight.set_data(ms.Tensor(average.asnumpy()))
    try:
        yield
    finally:
        for weight, value in zip(ema.weights, raw):
            weight.set_data(ms.Tensor(value))


class _EvaluatingEma:
    """A ``Model`` whose ``eval`` runs on the EMA weights and on the raw ones (``raw_NAME``), as timm's and
    torchvision's training scripts report both (what :class:`mm_train.callbacks.Evaluate` calls)."""

    def __init__(self, model, ema: Ema):
        self.model, self.ema = model, ema

    def eval(self, *args, **kwargs):
        raw = self.model.eval(*args, **kwargs)
        with swapped(self.ema):
            averaged = self.model.eval(*args, **kwargs)
        return {**averaged, **{f"raw_{k}": v for k, v in raw.items()}}

    def __getattr__(self, name):
        return getattr(self.model, name)


def evaluating(model, train_network):
    """``model``, or, when ``train_network`` keeps an EMA, a stand-in whose ``eval`` uses the averages."""
    ema = ema_of(train_network)
    return model if ema is None else _EvaluatingEma(model, ema)


def metrics_note(train_network) -> dict[str, Any]:
    """What ``metrics.json`` says about the evaluated weights: ``{"weights": "ema", "ema_decay": D}`` or {}."""
    ema = ema_of(train_network)
    return {} if ema is None else {"weights": "ema", "ema_decay": ema.decay_value, "raw_weights": "raw_*",
                                   **({"ema_every": ema.every} if ema.every > 1 else {}),
                                   **({"ema_warmup": True} if ema.warmup else {}),
                                   **({"ema_reset_during_warmup": True} if ema.copy_steps else {})}


def split_choice(spec: Any) -> tuple[Any, bool]:
    """``init_from`` without its ``ema`` key, and whether to load the EMA weights (default: yes)."""
    if not isinstance(spec, Mapping) or "ema" not in spec:
        return spec, True
    choice = spec["ema"]
    if not isinstance(choice, bool):
        raise ConfigError("init_from.ema", f"got {choice!r}", expected="true (the EMA weights when the "
                          "checkpoint has them, the default) or false (the raw weights)")
    rest = {k: v for k, v in spec.items() if k != "ema"}
    return (rest["path"] if set(rest) == {"path"} else rest), choice


def with_averages(params: Mapping[str, Any], path: Any) -> dict[str, Any]:
    """A checkpoint's ``params`` with every ``NAME`` that has an average taking ``ema.NAME``'s value.

    The ``ema.*`` entries are dropped; a checkpoint without them is returned as it is. Example::

        with_averages({"w": raw, "ema.w": avg}, "x.ckpt")    # {"w": avg}
    """
    averages = {k[len(PREFIX):]: v for k, v in params.items() if k.startswith(PREFIX)}
    if not averages:
        return dict(params)
    replaced = sum(k in params for k in averages)
    print(f"init_from: the EMA weights of {path} ({replaced} parameters; "
          "init_from={path: ..., ema: false} for the raw ones)", flush=True)
    return {k: averages.get(k, v) for k, v in params.items() if not k.startswith(PREFIX)}
