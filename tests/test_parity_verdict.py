"""mm-train parity judges against the float32 floor: a correct import passes (with a float64 reference and
with the floor measured on the network itself); a wrong stride, a wrong BatchNorm eps and a Dense after a
Flatten in the other order fail. The source framework is a numpy implementation, run in float32 and float64."""
from __future__ import annotations

import numpy as np
import pytest

from migrate_helpers import write_recipe

NETWORK = """network:
  input_shape: [3, 8, 8]
  layers:
    conv1: {type: Conv2d, out_channels: 8, kernel_size: 3, pad_mode: pad, padding: 1}
    bn1: {type: BatchNorm2d, eps: 1.0e-5}
    relu1: {type: ReLU}
    conv2: {type: Conv2d, out_channels: 8, kernel_size: 1, stride: 2}
    bn2: {type: BatchNorm2d, eps: 1.0e-5}
    relu2: {type: ReLU}
    conv3: {type: Conv2d, out_channels: 4, kernel_size: 3, stride: 2, pad_mode: pad, padding: 1, has_bias: true}
    relu3: {type: ReLU}
    flatten: {type: Flatten}
    fc: {type: Dense, out_channels: 5}
"""
PERTURBED = {   # the same weights, a recipe with one mistake
    "stride": NETWORK.replace("kernel_size: 1, stride: 2", "kernel_size: 1, stride: 1")
                     .replace("kernel_size: 3, stride: 2", "kernel_size: 3, stride: 4"),
    "eps": NETWORK.replace("bn2: {type: BatchNorm2d, eps: 1.0e-5}", "bn2: {type: BatchNorm2d, eps: 1.0e-3}"),
}


def torch_style_weights(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    w: dict[str, np.ndarray] = {}

    def bn(name, c):
        w.update({f"{name}.weight": rng.uniform(0.5, 1.5, c), f"{name}.bias": rng.normal(0, 0.1, c),
                  f"{name}.running_mean": rng.normal(0, 0.2, c), f"{name}.running_var": rng.uniform(0.5, 1.5, c)})

    w["conv1.weight"] = rng.normal(0, 0.3, (8, 3, 3, 3))
    bn("bn1", 8)
    w["conv2.weight"] = rng.normal(0, 0.4, (8, 8, 1, 1))
    bn("bn2", 8)
    w["conv3.weight"] = rng.normal(0, 0.15, (4, 8, 3, 3))
    w["conv3.bias"] = rng.normal(0, 0.1, 4)
    w["fc.weight"] = rng.normal(0, 0.25, (5, 16))
    w["fc.bias"] = rng.normal(0, 0.1, 5)
    return {k: v.astype(np.float32) for k, v in w.items()}


def conv(x, kernel, stride, pad):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    k = kernel.shape[2]
    oh, ow = (x.shape[2] - k) // stride + 1, (x.shape[3] - k) // stride + 1
    out = np.zeros((x.shape[0], kernel.shape[0], oh, ow), x.dtype)
    for i in range(k):
        for j in range(k):
            patch = x[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
            out += np.einsum("nchw,oc->nohw", patch, kernel[:, :, i, j])
    return out


def source_output(w, x, dtype, flatten="chw"):
    """The network as the source framework computes it, in ``dtype`` throughout."""
    w = {k: v.astype(dtype) for k, v in w.items()}
    x = x.astype(dtype)

    def bn(y, name):
        shape = (1, -1, 1, 1)
        scale = w[f"{name}.weight"] / np.sqrt(w[f"{name}.running_var"] + dtype(1e-5))
        return (y - w[f"{name}.running_mean"].reshape(shape)) * scale.reshape(shape) + w[f"{name}.bias"].reshape(shape)

    y = np.maximum(bn(conv(x, w["conv1.weight"], 1, 1), "bn1"), 0)
    y = np.maximum(bn(conv(y, w["conv2.weight"], 2, 0), "bn2"), 0)
    y = np.maximum(conv(y, w["conv3.weight"], 2, 1) + w["conv3.bias"].reshape(1, -1, 1, 1), 0)
    y = y.transpose(0, 2, 3, 1) if flatten == "hwc" else y
    return y.reshape(len(y), -1) @ w["fc.weight"].T + w["fc.bias"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from safetensors.numpy import save_file

    folder = tmp_path_factory.mktemp("parity")
    w = torch_style_weights()
    save_file(w, str(folder / "w.safetensors"))
    x = np.random.default_rng(1).normal(0, 1, (4, 3, 8, 8)).astype(np.float32)
    np.save(folder / "x.npy", x)
    np.save(folder / "y32.npy", source_output(w, x, np.float32).astype(np.float32))
    np.save(folder / "y64.npy", source_output(w, x, np.float64))
    np.save(folder / "y32_hwc.npy", source_output(w, x, np.float32, "hwc").astype(np.float32))
    np.save(folder / "y64_hwc.npy", source_output(w, x, np.float64, "hwc"))
    write_recipe(folder / "recipes", "small_parity", NETWORK)
    for name, network in PERTURBED.items():
        write_recipe(folder / "recipes", f"small_parity_{name}", network)
    return folder


def parity(files, monkeypatch, capsys, recipe, *flags):
    from mm_train.commands import main

    monkeypatch.setenv("MM_TRAIN_RECIPE_PATH", str(files / "recipes"))
    code = main(["parity", f"+recipe={recipe}", f"init_from={{path: {files / 'w.safetensors'}, rules: torch}}",
                 "--input", str(files / "x.npy"), *flags])
    return code, capsys.readouterr().out


def test_correct_import_passes_against_the_float64_floor_and_against_its_own(files, monkeypatch, capsys):
    y32, y64 = str(files / "y32.npy"), str(files / "y64.npy")
    code, out = parity(files, monkeypatch, capsys, "small_parity", "--expected", y32, "--expected64", y64)
    assert code == 0, out
    assert "PASSED" in out and "x the float32 floor" in out and "max |expected64 - expected|" in out, out
    code, out = parity(files, monkeypatch, capsys, "small_parity", "--expected", y32)
    assert code == 0, out
    assert "PASSED" in out and "MindSpore's own float32 sensitivity" in out, out


@pytest.mark.parametrize("mistake", ["stride", "eps"])
def test_a_wrong_stride_or_eps_fails_with_and_without_the_float64_reference(files, monkeypatch, capsys, mistake):
    y32, y64 = str(files / "y32.npy"), str(files / "y64.npy")
    for flags in (("--expected", y32, "--expected64", y64), ("--expected", y32)):
        code, out = parity(files, monkeypatch, capsys, f"small_parity_{mistake}", *flags)
        assert code == 1 and "FAILED" in out, out


def test_a_dense_after_a_flatten_in_the_other_order_fails(files, monkeypatch, capsys):
    """The source flattened HWC (as Keras does); the recipe flattens CHW with the same Dense kernel."""
    y32, y64 = str(files / "y32_hwc.npy"), str(files / "y64_hwc.npy")
    for flags in (("--expected", y32, "--expected64", y64), ("--expected", y32)):
        code, out = parity(files, monkeypatch, capsys, "small_parity", *flags)
        assert code == 1 and "FAILED" in out, out


def test_verdict_function_needs_a_reference_floor_and_reports_the_ratio():
    from mm_train.migrate.parity import K_FLOOR, verdict

    expected32 = np.array([1.0, -2.0, 3.0], np.float32)
    expected64 = expected32.astype(np.float64) + np.array([1e-6, 0, -2e-6])
    result = verdict(expected32 + np.float32(3e-6), expected32, expected64)
    assert result.passed and result.floor == pytest.approx(2e-6, rel=1e-6) and result.ratio == pytest.approx(1.5, rel=0.05)
    assert not verdict(expected32 + np.float32(1e-4), expected32, expected64).passed     # 50 floors > 32
    assert K_FLOOR == 32
    with pytest.raises(ValueError, match="expected64 or floor"):
        verdict(expected32, expected32)
