"""Keras weights: a Keras-style ResNet (HWIO kernels, conv biases, Keras ResNet50 names) imports with the
built-in keras_resnet50 rules, and the network's output matches a numpy NHWC reference of the same layers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import cli_main
from migrate_helpers import KERAS_RESNET, write_recipe

EPS = 1.001e-5


def keras_variables(seed: int = 0) -> dict[str, np.ndarray]:
    """Variables as Keras's ResNet50 names them: conv kernels HWIO with biases, BatchNorm, Dense (in, out)."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}

    def conv(name, k, cin, cout):
        out[f"{name}_conv/kernel:0"] = rng.normal(0, (2.0 / (k * k * cin)) ** 0.5, (k, k, cin, cout))
        out[f"{name}_conv/bias:0"] = rng.normal(0, 0.1, cout)
        out[f"{name}_bn/gamma:0"] = rng.uniform(0.5, 1.5, cout)
        out[f"{name}_bn/beta:0"] = rng.normal(0, 0.1, cout)
        out[f"{name}_bn/moving_mean:0"] = rng.normal(0, 0.2, cout)
        out[f"{name}_bn/moving_variance:0"] = rng.uniform(0.5, 1.5, cout)

    conv("conv1", 3, 3, 8)
    conv("conv2_block1_0", 1, 8, 16)
    for block, cin in ((1, 8), (2, 16)):
        conv(f"conv2_block{block}_1", 1, cin, 4)
        conv(f"conv2_block{block}_2", 3, 4, 4)
        conv(f"conv2_block{block}_3", 1, 4, 16)
    out["predictions/kernel:0"] = rng.normal(0, 0.3, (16, 5))
    out["predictions/bias:0"] = rng.normal(0, 0.1, 5)
    return {k: v.astype(np.float32) for k, v in out.items()}


# --- the numpy reference, NHWC, as Keras computes it -------------------------------------------

def conv_nhwc(x, kernel, bias, stride):
    """TF 'same' padding (extra row/column at the bottom/right), HWIO kernel."""
    n, h, w, _ = x.shape
    k = kernel.shape[0]
    oh, ow = -(-h // stride), -(-w // stride)
    pad_h, pad_w = max((oh - 1) * stride + k - h, 0), max((ow - 1) * stride + k - w, 0)
    x = np.pad(x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
    out = np.zeros((n, oh, ow, kernel.shape[3]))
    for i in range(k):
        for j in range(k):
            patch = x[:, i:i + stride * oh:stride, j:j + stride * ow:stride, :]
            out += np.einsum("nhwc,co->nhwo", patch, kernel[i, j])
    return out + bias


def conv_bn(v, x, name, stride=1):
    y = conv_nhwc(x, v[f"{name}_conv/kernel:0"], v[f"{name}_conv/bias:0"], stride)
    bn = {s: v[f"{name}_bn/{s}:0"].astype(np.float64) for s in ("gamma", "beta", "moving_mean", "moving_variance")}
    return (y - bn["moving_mean"]) / np.sqrt(bn["moving_variance"] + EPS) * bn["gamma"] + bn["beta"]


def relu(x):
    return np.maximum(x, 0)


def reference(v, x_nhwc):
    """Keras applications' ResNet50 block1 (stride on the first 1x1 conv), here in float64."""
    v = {k: a.astype(np.float64) for k, a in v.items()}
    x = relu(conv_bn(v, x_nhwc.astype(np.float64), "conv1"))
    for block in (1, 2):
        name, stride = f"conv2_block{block}", 2 if block == 1 else 1
        shortcut = conv_bn(v, x, f"{name}_0", stride) if block == 1 else x
        y = relu(conv_bn(v, x, f"{name}_1", stride))
        y = relu(conv_bn(v, y, f"{name}_2"))
        y = conv_bn(v, y, f"{name}_3")
        x = relu(shortcut + y)
    return x.mean(axis=(1, 2)) @ v["predictions/kernel:0"] + v["predictions/bias:0"]


def build():
    import yaml

    from mm_train.nn.builder import build_network
    network, _ = build_network(yaml.safe_load(KERAS_RESNET)["network"])
    return network


def write_h5(path: Path, variables) -> Path:
    """Keras 2's save_weights layout: LAYER/LAYER/VAR:0."""
    import h5py
    with h5py.File(path, "w") as f:
        for name, value in variables.items():
            layer = name.split("/")[0]
            f.create_dataset(f"{layer}/{name}", data=value)
    return path


@pytest.mark.parametrize("suffix", ["npz", "h5"])
def test_keras_resnet_block_matches_numpy_nhwc_reference(tmp_path, suffix):
    import mindspore as ms

    from mm_train.assembly.init_from import load as load_weights

    variables = keras_variables()
    if suffix == "npz":
        path = tmp_path / "keras.npz"
        np.savez(path, **variables)
    else:
        path = write_h5(tmp_path / "keras.h5", variables)
    network = build()
    report = load_weights(network, {"path": str(path), "rules": "keras_resnet50"})
    assert report.ok and len(report.matched) == len(list(network.get_parameters()))
    assert len(report.folded) == 8 and ("conv1_conv/bias:0", "bn1") in [
        (s.split("/", 1)[-1] if suffix == "h5" else s, bn) for s, bn in report.folded]
    loaded = {p.name: p.asnumpy() for p in network.get_parameters()}
    np.testing.assert_array_equal(loaded["layer1.0.conv2.weight"],
                                  variables["conv2_block1_2_conv/kernel:0"].transpose(3, 2, 0, 1))   # HWIO -> OIHW
    np.testing.assert_array_equal(loaded["fc.weight"], variables["predictions/kernel:0"].T)
    np.testing.assert_allclose(loaded["layer1.0.downsample.1.moving_mean"],
                               variables["conv2_block1_0_bn/moving_mean:0"] - variables["conv2_block1_0_conv/bias:0"])

    x = np.random.default_rng(1).normal(0, 1, (2, 8, 8, 3)).astype(np.float32)     # NHWC, as Keras takes it
    network.set_train(False)
    out = network(ms.Tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))).asnumpy()
    expected = reference(variables, x)
    assert out.shape == expected.shape == (2, 5)
    assert np.abs(out - expected).max() < 1e-5, np.abs(out - expected).max()


def test_target_with_conv_bias_keeps_it_and_parity_command_takes_nhwc(tmp_path):
    variables = keras_variables()
    np.savez(tmp_path / "keras.npz", **variables)
    x = np.random.default_rng(2).normal(0, 1, (3, 8, 8, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", reference(variables, x).astype(np.float32))
    # conv1 with a bias in the target: the bias loads into it instead of being folded
    write_recipe(tmp_path / "recipes", "small_keras", KERAS_RESNET.replace("pad_mode: same}", "pad_mode: same, "
                                                                        "has_bias: true}", 1))
    result = cli_main("parity", "+recipe=small_keras",
                          f"init_from={{path: {tmp_path / 'keras.npz'}, rules: keras_resnet50}}",
                          "--input", str(tmp_path / "x.npy"), "--expected", str(tmp_path / "y.npy"), "--nhwc",
                          env={"MM_TRAIN_RECIPE_PATH": str(tmp_path / "recipes")})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED" in result.stdout and "output shape [3, 5]" in result.stdout
    # without --nhwc the input does not fit the network: one message, exit 2
    result = cli_main("parity", "+recipe=small_keras",
                          f"init_from={{path: {tmp_path / 'keras.npz'}, rules: keras_resnet50}}",
                          "--input", str(tmp_path / "x.npy"), "--expected", str(tmp_path / "y.npy"),
                          env={"MM_TRAIN_RECIPE_PATH": str(tmp_path / "recipes")})
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "does not fit network.input_shape [3, 8, 8]" in result.stderr and "--nhwc" in result.stderr


def keras_resnet50_shapes() -> dict[str, tuple]:
    """Variable names and shapes of ``tf.keras.applications.ResNet50()``, written out from Keras's code
    (stack1/block1: a 1x1 projection ``_0_`` in the first block of each stack, convs with biases)."""
    shapes: dict[str, tuple] = {}

    def conv(name, k, cin, cout):
        shapes[f"{name}_conv/kernel:0"] = (k, k, cin, cout)
        shapes[f"{name}_conv/bias:0"] = (cout,)
        shapes.update({f"{name}_bn/{v}:0": (cout,) for v in ("gamma", "beta", "moving_mean", "moving_variance")})

    conv("conv1", 7, 3, 64)
    cin = 64
    for stack, (filters, blocks) in enumerate(((64, 3), (128, 4), (256, 6), (512, 3)), start=2):
        for block in range(1, blocks + 1):
            name = f"conv{stack}_block{block}"
            if block == 1:
                conv(f"{name}_0", 1, cin, 4 * filters)
            conv(f"{name}_1", 1, cin, filters)
            conv(f"{name}_2", 3, filters, filters)
            conv(f"{name}_3", 1, filters, 4 * filters)
            cin = 4 * filters
    shapes["predictions/kernel:0"] = (2048, 1000)
    shapes["predictions/bias:0"] = (1000,)
    return shapes


def test_builtin_keras_resnet50_rules_map_every_variable_onto_the_recipe():
    from mm_train.config.composition import compose_recipe
    from mm_train.migrate.rules import convert, load_rules
    from mm_train.migrate.weights import match
    from mm_train.nn.builder import build_network
    from mm_train.jobs import prepare

    shapes = keras_resnet50_shapes()
    assert len(shapes) == 320                       # Keras's ResNet50 has 320 weight variables
    network, _ = build_network(prepare(compose_recipe("resnet50_keras", ["dataset.image_size=32"]))["network"])
    target = {p.name: tuple(p.shape) for p in network.get_parameters()}
    source = {k: np.broadcast_to(np.float32(0.5), s) for k, s in shapes.items()}
    converted = convert(source, load_rules("keras_resnet50"), target)
    report = match(converted, target, [])
    assert report.ok, report.text(matched=False)
    assert len(report.matched) == len(target) == 267 and len(report.folded) == 53 and not report.unexpected
    strided = {t: s for t, s, _ in report.matched if t in ("layer2.0.conv1.weight", "layer2.0.conv2.weight")}
    assert strided == {"layer2.0.conv1.weight": "conv3_block1_1_conv/kernel:0",
                       "layer2.0.conv2.weight": "conv3_block1_2_conv/kernel:0"}


# Keras 3 files (.weights.h5 and .keras as real Keras 3 writes them): tests/test_keras3_files.py
