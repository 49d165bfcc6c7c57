"""``mm-train parity +recipe=NAME --input x.npy --expected y.npy``: a recipe's network against the source framework.

    mm-train parity +recipe=resnet18_torchvision init_from=r18.ckpt --input x.npy --expected y.npy \\
        --expected64 y64.npy

Runs the recipe network with its ``init_from`` weights in inference mode on the input and judges the
difference with :func:`mm_train.migrate.parity.verdict` (the float32 floor). When the memory estimate
cannot vouch for graph mode, the same command runs in a child process, so a kernel kill is one line.
"""
from __future__ import annotations

import gc
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from mm_train.commands.parsers import add_command
from mm_train.core.device import set_environment
from mm_train.core.errors import ConfigError
from mm_train.migrate.parity import K_FLOOR, Parity, elementwise, self_floor, verdict


def _load_array(path: str, where: str) -> np.ndarray:
    if not Path(path).is_file():
        raise ConfigError(where, f"file not found: {path}", expected="a .npy file (numpy.save)")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise ConfigError(where, f"cannot read {path}: {err}", expected="a .npy file (numpy.save)") from None


def load_network(config: Mapping[str, Any], child_if_unsure: bool = False):
    """The recipe network with ``init_from``'s weights, in inference mode. ``child_if_unsure``: raise
    :class:`mm_train.tasks.inference_child.RunInChild` when the memory estimate cannot vouch for graph mode."""
    from mm_train.tasks.inference_child import check
    from mm_train.tasks.inference_memory import guard
    from mm_train.assembly.init_from import network_with_weights

    if not config.get("init_from"):
        raise ConfigError("init_from", "parity needs weights", expected="init_from=PATH or init_from={path: ..., "
                          "rules: ...}")
    network = network_with_weights(config)
    network.set_train(False)
    guard(network, "parity")
    if child_if_unsure:
        check(network)
    return network


def _check_input(config: Mapping[str, Any], x: np.ndarray) -> None:
    expected_shape = tuple(config["network"]["input_shape"])
    if x.ndim != len(expected_shape) + 1 or tuple(x.shape[1:]) != expected_shape:
        raise ConfigError("--input", f"input of shape {list(x.shape)} does not fit network.input_shape "
                          f"{list(expected_shape)}", expected="[batch, *network.input_shape] (channels first; "
                          "--nhwc for channels-last input)")


def network_output(config: Mapping[str, Any], x: np.ndarray, info: dict | None = None,
                   child_if_unsure: bool = False) -> np.ndarray:
    """The recipe network with ``init_from``'s weights, in inference mode, applied to ``x`` (NCHW);
    ``info["network"]`` gets the network."""
    import mindspore as ms

    network = load_network(config, child_if_unsure)
    _check_input(config, x)
    if info is not None:
        info["network"] = network
    return network(ms.Tensor(x.astype(np.float32))).asnumpy()


def run_parity(recipe: str, overrides: list[str], input_path: str, expected_path: str, nhwc: bool,
               atol: float | None = None, rtol: float | None = None, expected64_path: str | None = None,
               k: float = K_FLOOR, child_if_unsure: bool = False) -> Parity:
    """``child_if_unsure``: raise :class:`mm_train.tasks.inference_child.RunInChild` (before the forward pass) when
    the memory estimate cannot vouch for graph mode; ``mm-train parity`` then runs itself in a child process."""
    from mm_train.jobs import open_job

    x = _load_array(input_path, "--input")
    expected = _load_array(expected_path, "--expected")
    expected64 = _load_array(expected64_path, "--expected64") if expected64_path else None
    if expected64 is not None and expected64.shape != expected.shape:
        raise ConfigError("--expected64", f"shape {list(expected64.shape)} differs from --expected's "
                          f"{list(expected.shape)}", expected="the same model's output in float64 for the same input")
    if nhwc:
        if x.ndim != 4:
            raise ConfigError("--nhwc", f"input has {x.ndim} axes", expected="a batch of images [N, H, W, C]")
        x = np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2)))
    info: dict = {}
    out = network_output(open_job(recipe, overrides).config, x, info, child_if_unsure)
    if out.shape != expected.shape:
        raise ConfigError("--expected", f"the network gives shape {list(out.shape)}, the expected output has "
                          f"{list(expected.shape)}", expected="the source framework's output for the same input")
    if atol is not None or rtol is not None:
        return elementwise(out, expected, atol, rtol)
    if expected64 is not None:
        return verdict(out, expected, expected64, k=k)
    return verdict(out, expected, floor=self_floor(info["network"], x), k=k)


def parity_argv(args) -> list[str]:
    """``args`` as the ``mm-train parity`` arguments that give them (for the child process)."""
    argv = ["parity", *args.overrides, "--input", args.input, "--expected", args.expected]
    for flag, value in (("--expected64", args.expected64), ("--atol", args.atol), ("--rtol", args.rtol)):
        if value is not None:
            argv += [flag, str(value)]
    return argv + (["--nhwc"] if args.nhwc else [])


def parity_command(args) -> int:
    set_environment()
    from mm_train.tasks.inference_child import RunInChild, run_child

    recipes = [o for o in args.overrides if o.startswith("+recipe=")]
    if len(recipes) != 1:
        raise ConfigError("+recipe", "choose one recipe", expected="mm-train parity +recipe=NAME init_from=... "
                          "--input x.npy --expected y.npy")
    overrides = [o for o in args.overrides if o not in recipes]
    try:
        result = run_parity(recipes[0].split("=", 1)[1], overrides, args.input, args.expected, args.nhwc,
                            args.atol, args.rtol, args.expected64, child_if_unsure=True)
    except RunInChild as err:   # graph mode the estimate cannot vouch for: in a child, a kernel kill gets one line
        unsure = RunInChild(err.params, err.available)      # without the traceback: this network is freed
    else:
        print(result.text())
        return 0 if result.passed else 1
    gc.collect()
    return run_child(parity_argv(args), "parity", unsure)


def add_to(sub) -> None:
    parity = add_command(sub, "parity", "run a recipe's network (inference mode) on an input and compare with the source "
                 "framework's output; exit 1 above 32 x the float32 floor",
                 "mm-train parity +recipe=resnet18_torchvision 'init_from={path: r18.pth, rules: torchvision_resnet}' "
                 "--input x.npy --expected y.npy", parity_command)
    parity.add_argument("overrides", nargs="+", help="+recipe=NAME and key=value overrides (init_from=...)")
    parity.add_argument("--input", required=True, help="the input batch, .npy (NCHW unless --nhwc)")
    parity.add_argument("--expected", required=True, help="the source framework's output for it, .npy")
    parity.add_argument("--expected64", help="the source framework's output for the same input and weights in "
                        "float64 (model.double()), .npy: the verdict then judges against its float32 floor "
                        "max|expected64 - expected| (default: the floor measured on the MindSpore network itself)")
    parity.add_argument("--nhwc", action="store_true", help="the input is channels-last (TensorFlow): transpose it")
    parity.add_argument("--atol", type=float, default=None, help="elementwise absolute tolerance (default: "
                        "max|diff| <= 32 x the float32 floor)")
    parity.add_argument("--rtol", type=float, default=None, help="elementwise relative tolerance (with --atol; "
                        "default: the float32 tolerance)")
