"""Run a recipe's network in inference mode on a saved input and compare with another framework's output.

    mm-train parity +recipe=resnet18_torchvision init_from=r18.ckpt --input x.npy --expected y.npy \\
        --expected64 y64.npy
    mm-train parity +recipe=resnet50_keras 'init_from={path: resnet50.h5, rules: keras_resnet50}' \\
        --input x_nhwc.npy --expected logits.npy --nhwc

The verdict judges the difference against the float32 *floor*: how far a float32 computation of this
network on this input lands from the exact result. It fails (exit 1) when

    max |out - expected32| > K_FLOOR * floor          (K_FLOOR = 32)

- with ``--expected64`` (the source framework's output in float64, same weights and input): the floor is
  ``max |expected64 - expected32|``, the source framework's own float32 error on this batch;
- without it: the floor is measured on the MindSpore network itself (:func:`self_floor`): its output
  moves this much when every weight, BatchNorm statistic and input value changes by one float32 rounding
  (relative 2**-23, random signs, the largest of 3 draws); indices kept as floats (the ``Indexed`` layer's)
  stay exact (:func:`rounded_parameters`). It follows the network's own activations, not
  the logits alone: on torchvision models (torch, seeded weights, non-trivial BatchNorm statistics) it is
  0.6-1.1 x the float64 floor (ResNet-50 0.60, VGG16-BN 0.72, MobileNetV2 0.81, ConvNeXt-T 0.84,
  RegNetY-400MF 0.86, EfficientNet-B0 1.07).

Either floor is at least one rounding of the largest output, ``eps32 * max|expected|``. Two correct
float32 implementations differ by about 1-2 floors (median 1.33 over 60 torchvision models); MindSpore's
CPU Sigmoid/SiLU (~20 ulp) puts EfficientNets at 5-18 floors, hence 32. A structural mistake lands far
above (bench/migration_zoo.py, docs/migration.md): ResNet-50 with the stride on the wrong conv 2.0e4 floors,
a BatchNorm eps of 1e-3 for 1e-5 4.3e3, VGG16's Dense after a Flatten in the other order 6.7e5. With
``--atol``/``--rtol`` the check is elementwise instead: ``|out - expected| <= atol + rtol * |expected|``.

The verdict alone, for other tools (the ONNX converter's check)::

    from mm_train.migrate.parity import verdict
    result = verdict(out, expected32, expected64)            # or floor=self_floor(network, x)
    print(result.text()); ok = result.passed
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from mm_train.core.errors import ConfigError

EPS32 = float(np.finfo(np.float32).eps)
K_FLOOR = 32.0          # the verdict's margin over the float32 floor (see the module's doc)
SELF_FLOOR_DRAWS = 3


@dataclass
class Parity:
    max_abs: float
    max_rel: float          # max |out - expected| / max(|expected|, tiny), elementwise
    worst_index: tuple
    passed: bool
    shape: tuple

    rule: str = ""          # the tolerance, as printed
    floor: float | None = None      # the float32 floor the verdict used (None: elementwise atol/rtol)
    bound: float | None = None

    @property
    def ratio(self) -> float | None:
        """max |out - expected| in floors."""
        return self.max_abs / self.floor if self.floor else None

    def text(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        ratio = f" = {self.ratio:.3g} x the float32 floor" if self.floor else ""
        return (f"output shape {list(self.shape)}\n"
                f"max absolute difference {self.max_abs:.3e} (at {list(self.worst_index)}){ratio}"
                f"\nmax relative difference {self.max_rel:.3e}\n{verdict}: tolerance {self.rule}")


def _differences(out, expected):
    out, expected = np.asarray(out, np.float64), np.asarray(expected, np.float64)
    if out.shape != expected.shape:
        raise ValueError(f"output shape {list(out.shape)} differs from the expected {list(expected.shape)}")
    diff = np.abs(out - expected)
    rel = diff / np.maximum(np.abs(expected), np.finfo(np.float32).tiny)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    return diff, rel, tuple(int(i) for i in worst)


def verdict(out: np.ndarray, expected32: np.ndarray, expected64: np.ndarray | None = None, *,
            floor: float | None = None, k: float = K_FLOOR) -> Parity:
    """PASSED when ``max|out - expected32| <= k * floor``.

    ``floor``: ``max|expected64 - expected32|`` when ``expected64`` is given, else the ``floor`` argument
    (e.g. :func:`self_floor`); at least ``eps32 * max|expected32|``. One of the two is required.
    """
    diff, rel, worst = _differences(out, expected32)
    one_rounding = EPS32 * float(np.abs(np.asarray(expected32, np.float64)).max(initial=0.0))
    if expected64 is not None:
        floor_diff, _, _ = _differences(expected32, expected64)
        measured, source = float(floor_diff.max(initial=0.0)), "max |expected64 - expected|"
    elif floor is not None:
        measured, source = float(floor), "MindSpore's own float32 sensitivity"
    else:
        raise ValueError("verdict needs expected64 or floor")
    used = max(measured, one_rounding)
    bound = k * used
    max_abs = float(diff.max(initial=0.0))
    rule = (f"max |out - expected| <= {bound:.3e} ({k:g} x float32 floor {used:.3e}, {source}"
            + (f"; raised to eps32 * max|expected|" if used > measured else "") + ")")
    return Parity(max_abs, float(rel.max(initial=0.0)), worst, bool(max_abs <= bound), tuple(diff.shape), rule,
                  used, bound)


def elementwise(out: np.ndarray, expected: np.ndarray, atol: float | None, rtol: float | None) -> Parity:
    """``|out - expected| <= atol + rtol * |expected|`` everywhere."""
    diff, rel, worst = _differences(out, expected)
    atol, rtol = atol or 0.0, rtol or 0.0
    passed = bool(np.all(diff <= atol + rtol * np.abs(np.asarray(expected, np.float64))))
    return Parity(float(diff.max(initial=0.0)), float(rel.max(initial=0.0)), worst, passed, tuple(diff.shape),
                  f"|out - expected| <= {atol:g} + {rtol:g} * |expected|")


def self_floor(network, x: np.ndarray, draws: int = SELF_FLOOR_DRAWS, seed: int = 0) -> float:
    """How far ``network``'s float32 output on ``x`` moves when every parameter (weights, BatchNorm
    statistics) and input value changes by one float32 rounding (relative 2**-23, random signs): the
    largest of ``draws`` draws. Indices are not values and stay as they are (:func:`rounded_parameters`).
    The network's parameters are restored afterwards."""
    import mindspore as ms

    params = rounded_parameters(network)
    saved = [p.asnumpy().copy() for p in params]
    x = np.asarray(x, np.float32)
    base = network(ms.Tensor(x)).asnumpy().astype(np.float64)
    rng = np.random.default_rng(seed)
    worst = 0.0
    try:
        for _ in range(draws):
            for p, value in zip(params, saved):
                p.set_data(ms.Tensor(_nudge(value, rng)))
            moved = network(ms.Tensor(_nudge(x, rng))).asnumpy().astype(np.float64)
            worst = max(worst, float(np.abs(moved - base).max(initial=0.0)))
    finally:
        for p, value in zip(params, saved):
            p.set_data(ms.Tensor(value))
    return worst


def rounded_parameters(network) -> list:
    """``network``'s float parameters that carry a float32 rounding: all but those a cell names in its
    ``exact_parameters``, whole numbers stored as floats, such as the ``Indexed`` layer's ``index`` (Swin's
    ``relative_position_index``). Nudged, ``168 * (1 - 2**-23)`` casts to 167 and picks the neighbouring
    entry of the table: torchvision's swin_t from the legacy exporter measured a floor of 8.3e-4 that way
    (bound 2.7e-2) and 4.9e-7 with its 12 indices left alone, next to 4.2e-7 for its dynamo export, which
    folds the lookup into a constant (maxvit_t: 4.5e-5 and 4.8e-7, dynamo 5.0e-7)."""
    import mindspore as ms

    exact = {id(getattr(cell, name)) for _, cell in network.cells_and_names()
             for name in getattr(cell, "exact_parameters", ())}
    return [p for p in network.get_parameters() if p.dtype in (ms.float32, ms.float16) and id(p) not in exact]


def _nudge(value: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    signs = rng.integers(0, 2, value.shape).astype(value.dtype) * 2 - 1
    return (value * (1 + signs * np.asarray(EPS32, value.dtype))).astype(value.dtype)
