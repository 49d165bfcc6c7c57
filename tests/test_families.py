"""MobileNetV2/V3, EfficientNet, ConvNeXt and ViT from blocks: torchvision's parameter counts, names and
shapes, and output parity with torchvision on small models (fixtures from scripts/make_torchvision_fixtures.py,
no torch needed)."""
from __future__ import annotations

import copy
import gzip
import json
import re
from pathlib import Path

import numpy as np
import pytest

from helpers import assert_user_error  # noqa: F401
from test_networks import composed, params, trainable
from mm_train.core.errors import ConfigError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "torchvision"
RECIPES = {"resnet50": "resnet50_torchvision", "mobilenet_v2": "mobilenet_v2_torchvision",
           "mobilenet_v3_large": "mobilenet_v3_large_torchvision", "efficientnet_b0": "efficientnet_b0_torchvision",
           "convnext_tiny": "convnext_tiny_torchvision", "vit_b_16": "vit_b_16_torchvision"}
COUNTS = {"resnet50": 25_557_032, "mobilenet_v2": 3_504_872, "mobilenet_v3_large": 5_483_032,
          "efficientnet_b0": 5_288_548, "convnext_tiny": 28_589_128, "vit_b_16": 86_567_656}


def torchvision_names() -> dict:
    with gzip.open(FIXTURES / "names.json.gz", "rt", encoding="utf-8") as f:
        return json.load(f)


def build(config: dict):
    from mm_train.nn.builder import build_network
    return build_network(config["network"])[0]


@pytest.mark.parametrize("arch", list(RECIPES))
def test_recipe_has_torchvisions_parameters_under_its_rule_names(arch):
    """Trainable count equal to torchvision's; every state_dict key, renamed by the recipe's rule set, is a
    network parameter of the same shape, and nothing else is."""
    from mm_train.migrate.rules import convert, load_rules

    # the parameter set does not depend on the image size, except ViT's position embedding (tokens)
    config = composed(RECIPES[arch], *([] if arch == "vit_b_16" else ["dataset.image_size=32"]))
    network = build(config)
    reference = torchvision_names()[arch]
    assert trainable(network) == COUNTS[arch] == reference["params"]
    rules = load_rules(config["network"]["weight_rules"])
    source = {k: np.empty(shape, np.float32) for k, shape in reference["state_dict"].items()}
    converted = convert(source, rules)
    assert not converted.problems
    renamed = {k: tuple(v.shape) for k, v in converted.weights.items()}
    assert renamed == params(network)


# --- output parity on small torchvision models -----------------------------------------------------------

def _v3(kernel, expanded, out, se, act, stride):
    return {"type": "InvertedResidualV3", "kernel_size": kernel, "expanded_channels": expanded,
            "out_channels": out, "use_se": se, "activation": act, "stride": stride}


def _mb(expand, kernel, out, stride, p):
    return {"type": "MBConv", "expand_ratio": expand, "kernel_size": kernel, "out_channels": out, "stride": stride,
            "stochastic_depth": p}


SMALL = {   # family -> (recipe, {layer path: new value}), mirroring small_models() of the fixture script
    "mobilenet_v2": ("mobilenet_v2_torchvision", {"features.layers": [
        {"type": "ConvNormAct", "out_channels": 16, "kernel_size": 3, "stride": 2, "activation": "ReLU6"},
        {"type": "InvertedResidual", "expand_ratio": 1, "out_channels": 8},
        {"type": "InvertedResidual", "expand_ratio": 6, "out_channels": 16, "stride": 2, "times": 2},
        {"type": "ConvNormAct", "out_channels": 1280, "kernel_size": 1, "activation": "ReLU6"}]}),
    "mobilenet_v3": ("mobilenet_v3_large_torchvision", {
        "features.layers": [
            {"type": "ConvNormAct", "out_channels": 16, "kernel_size": 3, "stride": 2, "activation": "HSwish",
             "eps": 1e-3, "momentum": 0.99},
            _v3(3, 16, 16, True, "ReLU", 2), _v3(3, 64, 24, False, "ReLU", 2), _v3(5, 72, 24, True, "HSwish", 1),
            {"type": "ConvNormAct", "out_channels": 144, "kernel_size": 1, "activation": "HSwish", "eps": 1e-3,
             "momentum": 0.99}],
        "classifier.layers.0.out_channels": 64}),
    "efficientnet": ("efficientnet_b0_torchvision", {"features.layers": [
        {"type": "ConvNormAct", "out_channels": 16, "kernel_size": 3, "stride": 2, "activation": "SiLU"},
        {"type": "Sequential", "layers": [_mb(1, 3, 16, 1, 0.0)]},
        {"type": "Sequential", "layers": [_mb(6, 5, 24, 2, 0.0667), _mb(6, 5, 24, 1, 0.133)]},
        {"type": "ConvNormAct", "out_channels": 96, "kernel_size": 1, "activation": "SiLU"}]}),
    "convnext": ("convnext_tiny_torchvision", {"features.layers": [
        {"type": "ConvNormAct", "out_channels": 16, "kernel_size": 4, "stride": 4, "padding": 0,
         "norm": "LayerNorm2d", "eps": 1e-6, "activation": None, "has_bias": True},
        {"type": "Sequential", "layers": [{"type": "ConvNeXtBlock"}]},
        {"type": "Sequential", "layers": [{"type": "LayerNorm2d"}, {"type": "Conv2d", "out_channels": 32,
                                                                     "kernel_size": 2, "stride": 2,
                                                                     "pad_mode": "valid", "has_bias": True}]},
        {"type": "Sequential", "layers": [{"type": "ConvNeXtBlock", "times": 2}]}]}),
    "vit": ("vit_b_16_torchvision", {"conv_proj": {"type": "PatchEmbedding", "hidden_dim": 32, "patch_size": 8},
                                     "encoder.layers.layers.repeat": 2,
                                     "encoder.layers.layers.block": {"type": "EncoderBlock", "num_heads": 2,
                                                                     "mlp_dim": 64}}),
}


def small_config(family: str) -> dict:
    recipe, changes = SMALL[family]
    config = copy.deepcopy(composed(recipe, "dataset.image_size=32", "dataset.num_classes=10"))
    for path, value in changes.items():
        node, keys = config["network"]["layers"], path.split(".")
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[keys[-1]] = value
    return config


def weight_file(family: str) -> Path:
    return next((FIXTURES / family).glob("weights.*"))


@pytest.mark.parametrize("family", list(SMALL))
def test_small_torchvision_model_imports_strictly_and_matches_its_output(family):
    """init_from=weights.pth|.safetensors alone (the recipe names its rules) loads torchvision's state_dict with
    every key, and the eval-mode logits equal torchvision's within 1e-4."""
    from mm_train.commands.parity import network_output

    config = small_config(family)
    config["init_from"] = str(weight_file(family))
    x, expected = np.load(FIXTURES / family / "x.npy"), np.load(FIXTURES / family / "y.npy")
    out = network_output(config, x)
    assert out.shape == expected.shape == (2, 10)
    assert np.abs(out - expected).max() < 1e-4


def test_a_weight_file_of_another_family_fails_with_the_report():
    config = small_config("convnext")
    config["init_from"] = str(weight_file("vit"))
    from mm_train.nn.builder import build_network
    from mm_train.assembly.init_from import load as load_weights
    network, _ = build_network(config["network"])
    with pytest.raises(ConfigError, match=r"(?s)matched 0 of 39 target.*missing in the source: "
                                          r"features\.0\.0\.weight \[16, 3, 4, 4\]"):
        load_weights(network, config["init_from"])


# --- parity's default tolerance on a ResNet-50-sized import ---------------------------------------------

def _resnet50(tmp_path, *overrides):
    """resnet50_torchvision at 64x64 with the seeded weights torchvision's output in fixtures/resnet50 came from."""
    from safetensors.numpy import save_file
    from torchvision_arrays import random_state

    path = tmp_path / "r50.safetensors"
    if not path.exists():
        save_file(random_state(torchvision_names()["resnet50"]["state_dict"], 100), str(path))
    config = composed("resnet50_torchvision", "dataset.image_size=64", *overrides)
    config["init_from"] = str(path)
    return config


@pytest.mark.slow   # two full ResNet-50 networks and the float64 floor measured on one
def test_parity_verdict_passes_a_correct_resnet50_import_and_fails_a_wrong_eps(tmp_path):
    """torchvision's ResNet-50 against the recipe's, float32 both: the verdict against the floor measured on
    the network itself passes; the same weights with layer4's BatchNorm eps 1e-3 instead of 1e-5 (a typical
    migration slip) fail by more than ten times the bound."""
    from mm_train.commands.parity import network_output
    from mm_train.migrate.parity import self_floor, verdict

    x, y = np.load(FIXTURES / "resnet50" / "x.npy"), np.load(FIXTURES / "resnet50" / "y.npy")
    info: dict = {}
    out = network_output(_resnet50(tmp_path), x, info)
    floor = self_floor(info["network"], x)
    good = verdict(out, y, floor=floor)
    assert good.passed and 0 < good.max_abs < 1e-4, good.text()
    bad = verdict(network_output(_resnet50(tmp_path, "network.layers.layer4.eps=1.0e-3"), x), y, floor=floor)
    assert not bad.passed and bad.max_abs > 10 * bad.bound, bad.text()


@pytest.mark.slow
def test_vit_digits_trains_to_90_percent(tmp_path):
    """The small ViT written in YAML only (recipes/vit_digits.yaml), seed 42: >= 0.90 test accuracy."""
    from helpers import read_metrics, run_main

    result = run_main("+recipe=vit_digits", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert read_metrics(tmp_path / "run")["final"]["acc"] >= 0.90
