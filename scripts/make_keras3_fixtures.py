"""Write the Keras 3 test fixtures with real Keras 3 (not run in CI; the output is committed, a few KB each).

    /work/tfvenv/bin/python scripts/make_keras3_fixtures.py       # keras 3 with any backend, h5py, numpy
    /work/tfvenv/bin/python scripts/make_keras3_fixtures.py --layout   # only resnet50_layout.json

resnet50_layout.json: the groups of keras.applications.ResNet50(weights=None).save_weights(...) as Keras 3
writes them (``layers/conv2d_3``), in Keras's layer order, each with the layer's name and its variables'
shapes (the test writes a full-size file from it with h5py, without Keras).

Three tiny functional models with the layer kinds of the Keras applications the importer covers, built by
the same calls as keras.applications (layer names included), seeded weights and non-trivial BatchNorm
statistics. For each, in tests/fixtures/keras3/NAME/:

    model.weights.h5    model.save_weights(...)  (groups by layer class and counter: layers/conv2d_3/vars/0)
    model.keras         model.save(...)          (a zip: config.json lists the layers in order)
    x.npy               an input batch, NHWC
    y.npy, y64.npy      the model's output in float32, and in float64 (same weights, keras floatx float64)

resnet: ResNet50's stem and stack1 (conv biases, BatchNorm eps 1.001e-5, a projection shortcut);
mobilenet: MobileNetV2's stem and an inverted residual (DepthwiseConv2D, ReLU(6), ZeroPadding2D);
vgg: VGG16's blocks and classifier (Flatten -> Dense: Keras flattens HWC).
"""
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
from keras import layers  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "keras3"
SIZE = 8


def resnet():
    """keras.applications.resnet.ResNet50's stem and block1 x 2 (filters 4), at 8x8."""
    bn_axis, eps = 3, 1.001e-5
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Conv2D(8, 3, padding="same", name="conv1_conv")(inputs)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=eps, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)

    def block1(x, filters, stride, conv_shortcut, name):
        if conv_shortcut:
            shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=name + "_0_conv")(x)
            shortcut = layers.BatchNormalization(axis=bn_axis, epsilon=eps, name=name + "_0_bn")(shortcut)
        else:
            shortcut = x
        x = layers.Conv2D(filters, 1, strides=stride, name=name + "_1_conv")(x)
        x = layers.BatchNormalization(axis=bn_axis, epsilon=eps, name=name + "_1_bn")(x)
        x = layers.Activation("relu", name=name + "_1_relu")(x)
        x = layers.Conv2D(filters, 3, padding="same", name=name + "_2_conv")(x)
        x = layers.BatchNormalization(axis=bn_axis, epsilon=eps, name=name + "_2_bn")(x)
        x = layers.Activation("relu", name=name + "_2_relu")(x)
        x = layers.Conv2D(4 * filters, 1, name=name + "_3_conv")(x)
        x = layers.BatchNormalization(axis=bn_axis, epsilon=eps, name=name + "_3_bn")(x)
        x = layers.Add(name=name + "_add")([shortcut, x])
        return layers.Activation("relu", name=name + "_out")(x)

    x = block1(x, 4, 2, True, "conv2_block1")
    x = block1(x, 4, 1, False, "conv2_block2")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.Model(inputs, layers.Dense(5, name="predictions")(x), name="resnet_tiny")


def mobilenet():
    """keras.applications.MobileNetV2's stem, first block and a strided expanded block (alpha small), at 8x8."""
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Conv2D(8, 3, strides=1, padding="same", use_bias=False, name="Conv1")(inputs)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    # expanded_conv (block 0: no expansion)
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="expanded_conv_depthwise")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name="expanded_conv_depthwise_BN")(x)
    x = layers.ReLU(6.0, name="expanded_conv_depthwise_relu")(x)
    x = layers.Conv2D(8, 1, padding="same", use_bias=False, name="expanded_conv_project")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name="expanded_conv_project_BN")(x)
    # block_1: expand 6x, stride 2 with Keras's ZeroPadding2D(correct_pad) + valid depthwise
    x = layers.Conv2D(48, 1, padding="same", use_bias=False, name="block_1_expand")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name="block_1_expand_BN")(x)
    x = layers.ReLU(6.0, name="block_1_expand_relu")(x)
    x = layers.ZeroPadding2D(padding=((0, 1), (0, 1)), name="block_1_pad")(x)
    x = layers.DepthwiseConv2D(3, strides=2, padding="valid", use_bias=False, name="block_1_depthwise")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name="block_1_depthwise_BN")(x)
    x = layers.ReLU(6.0, name="block_1_depthwise_relu")(x)
    x = layers.Conv2D(16, 1, padding="same", use_bias=False, name="block_1_project")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name="block_1_project_BN")(x)
    x = layers.Conv2D(32, 1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name="Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(5, name="predictions")(x), name="mobilenet_tiny")


def vgg():
    """keras.applications.VGG16's blocks (2 of them, one conv each) and classifier: Flatten -> Dense."""
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Conv2D(8, 3, activation="relu", padding="same", name="block1_conv1")(inputs)
    x = layers.MaxPooling2D(2, strides=2, name="block1_pool")(x)
    x = layers.Conv2D(16, 3, activation="relu", padding="same", name="block2_conv1")(x)
    x = layers.MaxPooling2D(2, strides=2, name="block2_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(16, activation="relu", name="fc1")(x)
    return keras.Model(inputs, layers.Dense(5, name="predictions")(x), name="vgg_tiny")


def seeded(model, seed):
    """Weights ~ N(0, 1/fan_in); BatchNorm gamma, moving_variance in [0.5, 1.5]; beta, moving_mean ~ N(0, 0.2)."""
    rng = np.random.default_rng(seed)
    values = []
    for v in model.weights:
        shape, name = tuple(v.shape), v.path.rsplit("/", 1)[-1]
        if name in ("gamma", "moving_variance"):
            values.append(rng.uniform(0.5, 1.5, shape))
        elif len(shape) == 1:
            values.append(rng.normal(0, 0.2, shape))
        else:
            values.append(rng.normal(0, 1 / np.sqrt(np.prod(shape[:-1])), shape))
    model.set_weights([v.astype("float32") for v in values])
    return values


def resnet50_layout() -> None:
    """resnet50_layout.json from a real ResNet50 .weights.h5 (no weights downloaded)."""
    import json
    import tempfile

    import h5py

    model = keras.applications.ResNet50(weights=None)
    with tempfile.TemporaryDirectory() as tmp:
        model.save_weights(f"{tmp}/resnet50.weights.h5")
        with h5py.File(f"{tmp}/resnet50.weights.h5") as f:
            stored = {f"layers/{g}": [list(v[str(i)].shape) for i in range(len(v))]
                      for g in f["layers"] if len(v := f[f"layers/{g}"].get("vars", {}))}
    seen, groups = {}, []
    for layer in model.layers:                      # Keras names each group by class and counter in this order
        base = keras.src.utils.naming.to_snake_case(type(layer).__name__)
        n = seen[base] = seen.get(base, -1) + 1
        group = f"layers/{base}" + (f"_{n}" if n else "")
        if layer.weights:
            assert stored[group] == [list(v.shape) for v in layer.weights], group
            groups.append([group, layer.name, stored.pop(group)])
    assert not stored, stored
    (OUT / "resnet50_layout.json").write_text(json.dumps({"keras": keras.__version__, "groups": groups}) + "\n")
    print(f"resnet50_layout.json: {len(groups)} layers, keras {keras.__version__}")


def main() -> int:
    if "--layout" in sys.argv:
        resnet50_layout()
        return 0
    for seed, build in enumerate((resnet, mobilenet, vgg)):
        folder = OUT / build.__name__
        folder.mkdir(parents=True, exist_ok=True)
        keras.config.set_floatx("float32"); keras.config.set_dtype_policy("float32")
        model = build()
        values = seeded(model, seed)
        x = np.random.default_rng(100 + seed).normal(0, 1, (2, SIZE, SIZE, 3)).astype("float32")
        y = np.asarray(model(x, training=False))
        model.save_weights(folder / "model.weights.h5")
        model.save(folder / "model.keras")
        keras.config.set_floatx("float64"); keras.config.set_dtype_policy("float64")
        model64 = build()
        model64.set_weights([np.asarray(v, "float32").astype("float64") for v in values])
        y64 = np.asarray(model64(x.astype("float64"), training=False))
        keras.config.set_floatx("float32"); keras.config.set_dtype_policy("float32")
        np.save(folder / "x.npy", x)
        np.save(folder / "y.npy", y.astype("float32"))
        np.save(folder / "y64.npy", y64.astype("float64"))
        print(f"{build.__name__}: {len(model.weights)} variables, max|y64 - y| {np.abs(y64 - y).max():.3e}, "
              f"keras {keras.__version__} ({keras.backend.backend()})")
    resnet50_layout()
    return 0


if __name__ == "__main__":
    sys.exit(main())
