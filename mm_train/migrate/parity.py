"""Run a recipe's network in inference mode on a saved input and compare with another framework's output.

    mm-train parity +recipe=resnet18_torchvision init_from=r18.ckpt --input x.npy --expected y.npy
    mm-train parity +recipe=resnet50_keras 'init_from={path: resnet50.h5, rules: keras_resnet50}' \\
        --input x_nhwc.npy --expected logits.npy --nhwc

Prints the largest absolute and relative differences; fails (exit 1) where
``|out - expected| > atol + rtol * |expected|`` anywhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from mm_train.errors import ConfigError


@dataclass
class Parity:
    max_abs: float
    max_rel: float          # max |out - expected| / max(|expected|, tiny), elementwise
    worst_index: tuple
    passed: bool
    shape: tuple

    def text(self, atol: float, rtol: float) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        return (f"output shape {list(self.shape)}\n"
                f"max absolute difference {self.max_abs:.3e} (at {list(self.worst_index)})"
                f"\nmax relative difference {self.max_rel:.3e}\n{verdict}: tolerance |out - expected| <= "
                f"{atol:g} + {rtol:g} * |expected|")


def compare(out: np.ndarray, expected: np.ndarray, atol: float, rtol: float) -> Parity:
    out, expected = np.asarray(out, np.float64), np.asarray(expected, np.float64)
    diff = np.abs(out - expected)
    rel = diff / np.maximum(np.abs(expected), np.finfo(np.float32).tiny)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    return Parity(float(diff.max(initial=0.0)), float(rel.max(initial=0.0)), tuple(int(i) for i in worst),
                  bool(np.all(diff <= atol + rtol * np.abs(expected))), tuple(out.shape))


def _load_array(path: str, where: str) -> np.ndarray:
    if not Path(path).is_file():
        raise ConfigError(where, f"file not found: {path}", expected="a .npy file (numpy.save)")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise ConfigError(where, f"cannot read {path}: {err}", expected="a .npy file (numpy.save)") from None


def network_output(config: Mapping[str, Any], x: np.ndarray) -> np.ndarray:
    """The recipe network with ``init_from``'s weights, in inference mode, applied to ``x`` (NCHW)."""
    import mindspore as ms

    from mm_train import init_from
    from mm_train.nn.builder import build_network

    if not config.get("init_from"):
        raise ConfigError("init_from", "parity needs weights", expected="init_from=PATH or init_from={path: ..., "
                          "rules: ...}")
    network, _ = build_network(config["network"])
    init_from.load(network, config["init_from"])
    network.set_train(False)
    expected_shape = tuple(config["network"]["input_shape"])
    if x.ndim != len(expected_shape) + 1 or tuple(x.shape[1:]) != expected_shape:
        raise ConfigError("--input", f"input of shape {list(x.shape)} does not fit network.input_shape "
                          f"{list(expected_shape)}", expected="[batch, *network.input_shape] (channels first; "
                          "--nhwc for channels-last input)")
    return network(ms.Tensor(x.astype(np.float32))).asnumpy()


def run_parity(recipe: str, overrides: list[str], input_path: str, expected_path: str, nhwc: bool,
               atol: float, rtol: float) -> Parity:
    from mm_train.jobs import open_job

    x = _load_array(input_path, "--input")
    expected = _load_array(expected_path, "--expected")
    if nhwc:
        if x.ndim != 4:
            raise ConfigError("--nhwc", f"input has {x.ndim} axes", expected="a batch of images [N, H, W, C]")
        x = np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2)))
    out = network_output(open_job(recipe, overrides).config, x)
    if out.shape != expected.shape:
        raise ConfigError("--expected", f"the network gives shape {list(out.shape)}, the expected output has "
                          f"{list(expected.shape)}", expected="the source framework's output for the same input")
    return compare(out, expected, atol, rtol)
