"""Keras 3 files as Keras 3 writes them (fixtures written by real Keras 3: scripts/make_keras3_fixtures.py):
a .keras maps by its config.json's layer names, a .weights.h5 alone by the order of the network the recipe
builds (in Keras's order within a block where the rules' keras3_order says so; shapes checked); a Dense after
a Flatten gets its input rows permuted from Keras's HWC order."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from migrate_helpers import KERAS_RESNET, write_recipe

FIXTURES = Path(__file__).parent / "fixtures" / "keras3"

# layer names as Keras's: the default keras rules map LAYER/kernel to LAYER.weight
MOBILENET = """network:
  input_shape: [3, 8, 8]
  layers:
    Conv1: {type: Conv2d, out_channels: 8, kernel_size: 3, pad_mode: same}
    bn_Conv1: {type: BatchNorm2d, eps: 1.0e-3}
    Conv1_relu: {type: ReLU6}
    expanded_conv_depthwise: {type: Conv2d, out_channels: 8, kernel_size: 3, group: 8, pad_mode: same}
    expanded_conv_depthwise_BN: {type: BatchNorm2d, eps: 1.0e-3}
    expanded_conv_depthwise_relu: {type: ReLU6}
    expanded_conv_project: {type: Conv2d, out_channels: 8, kernel_size: 1}
    expanded_conv_project_BN: {type: BatchNorm2d, eps: 1.0e-3}
    block_1_expand: {type: Conv2d, out_channels: 48, kernel_size: 1}
    block_1_expand_BN: {type: BatchNorm2d, eps: 1.0e-3}
    block_1_expand_relu: {type: ReLU6}
    block_1_depthwise: {type: Conv2d, out_channels: 48, kernel_size: 3, stride: 2, group: 48, pad_mode: same}
    block_1_depthwise_BN: {type: BatchNorm2d, eps: 1.0e-3}
    block_1_depthwise_relu: {type: ReLU6}
    block_1_project: {type: Conv2d, out_channels: 16, kernel_size: 1}
    block_1_project_BN: {type: BatchNorm2d, eps: 1.0e-3}
    Conv_1: {type: Conv2d, out_channels: 32, kernel_size: 1}
    Conv_1_bn: {type: BatchNorm2d, eps: 1.0e-3}
    out_relu: {type: ReLU6}
    avgpool: {type: GlobalAvgPool}
    predictions: {type: Dense, out_channels: 5}
"""
VGG = """network:
  input_shape: [3, 8, 8]
  layers:
    block1_conv1: {type: Conv2d, out_channels: 8, kernel_size: 3, pad_mode: same, has_bias: true}
    relu1: {type: ReLU}
    block1_pool: {type: MaxPool2d, kernel_size: 2, stride: 2}
    block2_conv1: {type: Conv2d, out_channels: 16, kernel_size: 3, pad_mode: same, has_bias: true}
    relu2: {type: ReLU}
    block2_pool: {type: MaxPool2d, kernel_size: 2, stride: 2}
    flatten: {type: Flatten}
    fc1: {type: Dense, out_channels: 16}
    relu3: {type: ReLU}
    predictions: {type: Dense, out_channels: 5}
"""
NETWORKS = {"resnet": (KERAS_RESNET, "keras_resnet50"), "mobilenet": (MOBILENET, "keras"), "vgg": (VGG, "keras")}


@pytest.fixture(scope="module")
def recipes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keras3") / "recipes"
    for name, (network, _) in NETWORKS.items():
        write_recipe(folder, f"tiny_{name}", network)
    write_recipe(folder, "tiny_vgg_hwc", VGG.replace("flatten: {type: Flatten}", "flatten: {type: Flatten, order: hwc}"))
    return folder


def parity(recipes, monkeypatch, name, file, rules, recipe=None):
    from mm_train.commands.parity import run_parity

    monkeypatch.setenv("MM_TRAIN_RECIPE_PATH", str(recipes))
    folder = FIXTURES / name
    return run_parity(recipe or f"tiny_{name}", [f"init_from={{path: {folder / file}, rules: {rules}}}"],
                      str(folder / "x.npy"), str(folder / "y.npy"), True, expected64_path=str(folder / "y64.npy"))


@pytest.mark.parametrize("name", ["resnet", "mobilenet", "vgg"])
def test_keras_archive_maps_by_its_config_and_matches_keras_output(recipes, monkeypatch, name):
    result = parity(recipes, monkeypatch, name, "model.keras", NETWORKS[name][1])
    assert result.passed and result.ratio < 8, result.text()


@pytest.mark.parametrize("name", ["resnet", "mobilenet", "vgg"])
def test_weights_h5_alone_maps_by_the_order_of_the_recipe_network(recipes, monkeypatch, name):
    """ResNet: keras_resnet50's keras3_order puts the network's projection shortcut where Keras lists it."""
    network, report = _import(f"tiny_{name}", recipes, monkeypatch, "model.weights.h5", NETWORKS[name][1], name)
    assert report.ok and len(report.matched) == len(list(network.get_parameters())), report.text()
    result = parity(recipes, monkeypatch, name, "model.weights.h5", NETWORKS[name][1])
    assert result.passed and result.ratio < 8, result.text()


def test_weights_h5_whose_order_differs_from_the_network_is_refused_with_the_way_out(recipes, monkeypatch):
    """Keras's ResNet lists the projection shortcut (_0_conv) after _2_conv, the recipe's block builds it last;
    rules without keras3_order pair them as built: the shapes disagree, and the message gives both ways out."""
    from mm_train.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"(?s)likely cause: the layers were mapped by position"
                                          r".*model.save\('m.keras'\).*keras3_order.*keras_resnet50.*"
                                          r"shape of layer1\.0\.conv3\.weight: source conv2d_3/kernel"):
        parity(recipes, monkeypatch, "resnet", "model.weights.h5", "keras")


def test_keras3_order_that_is_not_a_block_and_an_order_is_refused_naming_the_entry():
    from mm_train.core.errors import ConfigError
    from mm_train.migrate.rules import load_rules

    with pytest.raises(ConfigError, match=r"rules\.keras3_order\[0\].*expected \{block: REGEX, order: \[CELL"):
        load_rules({"extends": "keras", "keras3_order": [{"block": "^layer\\d+\\.", "order": "conv1"}]})


@pytest.mark.slow   # the full-size ResNet-50 built and its 25.6 M weights converted
def test_full_size_resnet50_weights_h5_as_keras3_writes_it_converts_every_parameter(tmp_path, capsys):
    """`mm-train weights convert resnet50.weights.h5 o.ckpt --rules keras_resnet50 --recipe resnet50_keras` on
    a file with the groups of keras.applications.ResNet50's own .weights.h5 (resnet50_layout.json, recorded
    by scripts/make_keras3_fixtures.py), each variable a distinct constant: every parameter is matched, and
    each gets the variable of the Keras layer whose name the keras_resnet50 rules give it."""
    import json

    import h5py
    import mindspore as ms

    from mm_train.commands import main
    from mm_train.migrate.keras3 import by_shape
    from mm_train.migrate.rules import convert, load_rules

    layout = json.loads((FIXTURES / "resnet50_layout.json").read_text())["groups"]
    value, by_name = {}, {}
    with h5py.File(tmp_path / "resnet50.weights.h5", "w") as f:      # constants: no data written
        for n, (group, layer, shapes) in enumerate(layout):
            for i, (var, shape) in enumerate(zip(by_shape([np.empty(s, np.uint8) for s in shapes]), shapes)):
                value[f"{layer}/{var}"] = n + i / 8
                f.create_dataset(f"{group}/vars/{i}", shape=shape, dtype="float32", fillvalue=n + i / 8)
                by_name[f"{layer}/{var}"] = np.zeros([1] * len(shape))
    code = main(["weights", "convert", str(tmp_path / "resnet50.weights.h5"), str(tmp_path / "o.ckpt"),
                 "--rules", "keras_resnet50", "--recipe", "resnet50_keras", "--quiet"])
    out = capsys.readouterr().out
    biases = sum(len(shapes) == 2 and len(shapes[0]) == 4 for _, _, shapes in layout)    # folded into BatchNorms
    count = sum(len(shapes) for _, _, shapes in layout) - biases
    assert code == 0 and f"matched {count} of {count} target parameters" in out, out
    by_names = convert(by_name, load_rules("keras_resnet50"))          # what the layer names say
    loaded = ms.load_checkpoint(str(tmp_path / "o.ckpt"))
    assert len(by_names.origin) == count and set(by_names.origin) == set(loaded)
    for target, source in by_names.origin.items():
        if not target.endswith("moving_mean"):                         # moving means: bias folded in
            array = loaded[target].asnumpy()
            assert array.min() == array.max() == value[source], (target, source, array.min())


def _import(recipe: str, recipes, monkeypatch, file: str, rules, fixture: str = "vgg"):
    from mm_train.assembly.init_from import load
    from mm_train.jobs import open_job
    from mm_train.nn.builder import build_network

    monkeypatch.setenv("MM_TRAIN_RECIPE_PATH", str(recipes))
    network, _ = build_network(open_job(recipe, []).config["network"])
    return network, load(network, {"path": str(FIXTURES / fixture / file), "rules": rules})


def test_dense_after_flatten_gets_its_rows_permuted_from_hwc(recipes, monkeypatch):
    import h5py
    network, report = _import("tiny_vgg", recipes, monkeypatch, "model.keras", "keras")
    assert report.permuted == ["fc1.weight: input rows HWC -> CHW (after the Flatten 'flatten' of [16, 2, 2])"]
    with h5py.File(FIXTURES / "vgg" / "model.weights.h5") as f:
        kernel = np.asarray(f["layers/dense/vars/0"])           # fc1: (2*2*16 inputs in H, W, C order, 16)
    loaded = {p.name: p.asnumpy() for p in network.get_parameters()}["fc1.weight"]
    for c, h, w in [(0, 0, 1), (5, 1, 0), (15, 1, 1)]:      # MindSpore's input (c, h, w) is Keras's (h, w, c)
        assert np.array_equal(loaded[:, c * 4 + h * 2 + w], kernel[(h * 2 + w) * 16 + c])
    # the recipe flattening channels last takes the kernel as it is, and still matches Keras
    _, report = _import("tiny_vgg_hwc", recipes, monkeypatch, "model.keras", "keras")
    assert report.permuted == []
    assert parity(recipes, monkeypatch, "vgg", "model.keras", "keras", "tiny_vgg_hwc").passed


def test_flatten_then_dense_without_a_declared_order_is_a_warning_naming_the_layer(recipes, monkeypatch, tmp_path,
                                                                                    caplog):
    rules = tmp_path / "mine.yaml"     # a user's rules that do not extend keras: the source order is unknown
    rules.write_text(Path(FIXTURES.parent.parent.parent / "mm_train/migrate/rules/keras.yaml").read_text()
                     .replace("flatten: hwc\n", ""))
    with caplog.at_level("WARNING"):
        _, report = _import("tiny_vgg", recipes, monkeypatch, "model.keras", str(rules))
    assert report.permuted == [] and len(report.warnings) == 1
    assert "fc1.weight follows the Flatten 'flatten' of a [16, 2, 2] input" in caplog.text
