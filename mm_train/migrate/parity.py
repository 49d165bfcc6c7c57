"""Run a recipe's network in inference mode on a saved input and compare with another framework's output.

    mm-train parity +recipe=resnet18_torchvision init_from=r18.ckpt --input x.npy --expected y.npy
    mm-train parity +recipe=resnet50_keras 'init_from={path: resnet50.h5, rules: keras_resnet50}' \\
        --input x_nhwc.npy --expected logits.npy --nhwc

Prints the largest absolute and relative differences. By default it fails (exit 1) when

    max |out - expected| > 16 * sqrt(L) * eps32 * max |expected|

(``L``: the network's weighted layers, conv and dense kernels; ``eps32`` = 2**-23 = 1.19e-7): the
float32 rounding of two correct implementations grows with the size of the values (every rounding is
relative to them: the floor is ``eps32 * max|expected|``, one rounding of the largest output) and with
the depth (independent roundings per layer add up like a random walk, ``sqrt(L)``); 16 covers the long
reductions of a layer. Measured here: torchvision ResNet-50 (L = 54) against this network, 5.4
eps32 * max|expected| (7.5e-6 on logits up to 11.7), so the bound (118 eps32 * max|expected|) leaves a margin
of 20, while a real mistake (a BatchNorm eps of 1e-3 for 1e-5, a transposed kernel) is orders of magnitude
above it. With ``--atol``/``--rtol`` the check is elementwise instead:
``|out - expected| <= atol + rtol * |expected|``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from mm_train.errors import ConfigError

EPS32 = float(np.finfo(np.float32).eps)
DEPTH_FACTOR = 16.0


@dataclass
class Parity:
    max_abs: float
    max_rel: float          # max |out - expected| / max(|expected|, tiny), elementwise
    worst_index: tuple
    passed: bool
    shape: tuple

    rule: str = ""          # the tolerance, as printed

    def text(self, atol: float | None = None, rtol: float | None = None) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        rule = self.rule or f"|out - expected| <= {atol:g} + {rtol:g} * |expected|"
        return (f"output shape {list(self.shape)}\n"
                f"max absolute difference {self.max_abs:.3e} (at {list(self.worst_index)})"
                f"\nmax relative difference {self.max_rel:.3e}\n{verdict}: tolerance {rule}")


def default_tolerance(expected: np.ndarray, layers: int) -> float:
    """``16 * sqrt(layers) * eps32 * max|expected|``: the largest float32 rounding difference expected
    between two correct implementations of a network of ``layers`` weighted layers (see the module's doc)."""
    scale = float(np.abs(np.asarray(expected, np.float64)).max(initial=0.0))
    return DEPTH_FACTOR * float(np.sqrt(max(int(layers), 1))) * EPS32 * scale


def compare(out: np.ndarray, expected: np.ndarray, atol: float | None = None, rtol: float | None = None,
            layers: int = 1) -> Parity:
    """Elementwise ``atol + rtol * |expected|`` when either is given, else the default (float32) tolerance."""
    out, expected = np.asarray(out, np.float64), np.asarray(expected, np.float64)
    diff = np.abs(out - expected)
    rel = diff / np.maximum(np.abs(expected), np.finfo(np.float32).tiny)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    if atol is None and rtol is None:
        bound = default_tolerance(expected, layers)
        passed = bool(diff.max(initial=0.0) <= bound)
        rule = (f"max |out - expected| <= {bound:.3e} (16 * sqrt({layers} weighted layers) * float32 eps "
                f"{EPS32:.3g} * max|expected| {float(np.abs(expected).max(initial=0.0)):.4g})")
    else:
        atol, rtol = atol or 0.0, rtol or 0.0
        passed = bool(np.all(diff <= atol + rtol * np.abs(expected)))
        rule = f"|out - expected| <= {atol:g} + {rtol:g} * |expected|"
    return Parity(float(diff.max(initial=0.0)), float(rel.max(initial=0.0)), tuple(int(i) for i in worst),
                  passed, tuple(out.shape), rule)


def weighted_layers(network) -> int:
    """Conv and dense kernels (parameters of 2 or more axes): the depth in :func:`default_tolerance`."""
    return sum(1 for p in network.get_parameters() if len(p.shape) >= 2)


def _load_array(path: str, where: str) -> np.ndarray:
    if not Path(path).is_file():
        raise ConfigError(where, f"file not found: {path}", expected="a .npy file (numpy.save)")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise ConfigError(where, f"cannot read {path}: {err}", expected="a .npy file (numpy.save)") from None


def network_output(config: Mapping[str, Any], x: np.ndarray, info: dict | None = None) -> np.ndarray:
    """The recipe network with ``init_from``'s weights, in inference mode, applied to ``x`` (NCHW);
    ``info["layers"]`` gets its number of weighted layers."""
    import mindspore as ms

    from mm_train import init_from
    from mm_train.nn.budget import max_params
    from mm_train.nn.builder import build_network

    if not config.get("init_from"):
        raise ConfigError("init_from", "parity needs weights", expected="init_from=PATH or init_from={path: ..., "
                          "rules: ...}")
    network, _ = build_network(config["network"], max_params=max_params(config))
    init_from.load(network, config["init_from"])
    network.set_train(False)
    if info is not None:
        info["layers"] = weighted_layers(network)
    expected_shape = tuple(config["network"]["input_shape"])
    if x.ndim != len(expected_shape) + 1 or tuple(x.shape[1:]) != expected_shape:
        raise ConfigError("--input", f"input of shape {list(x.shape)} does not fit network.input_shape "
                          f"{list(expected_shape)}", expected="[batch, *network.input_shape] (channels first; "
                          "--nhwc for channels-last input)")
    return network(ms.Tensor(x.astype(np.float32))).asnumpy()


def run_parity(recipe: str, overrides: list[str], input_path: str, expected_path: str, nhwc: bool,
               atol: float | None = None, rtol: float | None = None) -> Parity:
    from mm_train.jobs import open_job

    x = _load_array(input_path, "--input")
    expected = _load_array(expected_path, "--expected")
    if nhwc:
        if x.ndim != 4:
            raise ConfigError("--nhwc", f"input has {x.ndim} axes", expected="a batch of images [N, H, W, C]")
        x = np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2)))
    info: dict = {}
    out = network_output(open_job(recipe, overrides).config, x, info)
    if out.shape != expected.shape:
        raise ConfigError("--expected", f"the network gives shape {list(out.shape)}, the expected output has "
                          f"{list(expected.shape)}", expected="the source framework's output for the same input")
    return compare(out, expected, atol, rtol, info["layers"])
