"""Weight files as training code leaves them: state_dicts saved from a wrapped model (module., model.),
torchvision's training checkpoint {model, optimizer, lr_scheduler, epoch, args}, a recipe's own weight rules
in weights convert, and import_weights called with a raw {path, rules} mapping."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from migrate_helpers import pickle_text, write_pth, write_recipe
from mm_train.core.errors import ConfigError

NETWORK = """network:
  input_shape: [3, 4, 4]
  layers:
    conv1: {type: Conv2d, out_channels: 4, kernel_size: 3}
    bn1: {type: BatchNorm2d}
    relu: {type: ReLU}
    avgpool: {type: GlobalAvgPool}
    fc: {type: Dense, out_channels: 3}
"""
SHAPES = {"conv1.weight": (4, 3, 3, 3), "bn1.weight": (4,), "bn1.bias": (4,), "bn1.running_mean": (4,),
          "bn1.running_var": (4,), "fc.weight": (3, 4), "fc.bias": (3,)}


def write_state(path, prefix="", under=None, extra=b""):
    """The state_dict of SHAPES in one storage (running_var positive), names with ``prefix``."""
    tensors, offset = {}, 0
    for name, shape in SHAPES.items():
        strides = tuple(int(np.prod(shape[i + 1:])) for i in range(len(shape)))
        tensors[prefix + name] = (shape, strides, offset)
        offset += int(np.prod(shape))
    storage = np.random.default_rng(0).uniform(0.5, 1.5, offset).astype(np.float32)
    return write_pth(path, tensors, storage, under, extra), storage


def network():
    import yaml

    from mm_train.nn.builder import build_network
    return build_network(yaml.safe_load(NETWORK)["network"])[0]


@pytest.mark.parametrize("prefix", ["module.", "model."])
def test_prefixed_state_dict_names_the_prefix_and_the_fix_first_and_strip_prefix_loads_it(tmp_path, prefix):
    from mm_train.assembly.init_from import load

    path, _ = write_state(tmp_path / "w.pth", prefix)
    with pytest.raises(ConfigError) as err:
        load(network(), {"path": str(path), "rules": "torch"})
    first_problem = str(err.value).split("\n")[1].strip()
    assert first_problem.startswith(f"likely cause: every source name starts with '{prefix}'"), str(err.value)
    assert f"rules: {{strip_prefix: {prefix}}}" in first_problem and f"--strip-prefix {prefix}" in first_problem
    report = load(network(), {"path": str(path), "rules": {"strip_prefix": prefix}})    # extends the default rules
    assert report.ok and len(report.matched) == 7


def test_torchvision_training_checkpoint_with_args_loads_its_model_entry(tmp_path):
    """references/classification/train.py saves {model, optimizer, lr_scheduler, epoch, args}; args is an
    argparse.Namespace (inert data, admitted), the model entry is found by its key."""
    from mm_train.assembly.init_from import load
    from mm_train.migrate.torch_pickle import load_torch_file

    t = pickle_text
    args = b"cargparse\nNamespace\n)\x81}(" + t("model") + t("resnet18") + t("lr") + b"G" + struct.pack(">d", 0.5) + \
        t("epochs") + b"KZub"
    optimizer = b"}(" + t("state") + b"}" + t("param_groups") + b"](}(" + t("lr") + b"G" + struct.pack(">d", 0.1) + \
        t("params") + b"](K\x00K\x01eueu"
    extra = t("optimizer") + optimizer + t("lr_scheduler") + b"}(" + t("last_epoch") + b"K\x03u" + \
        t("epoch") + b"K\x03" + t("args") + args
    path, storage = write_state(tmp_path / "checkpoint.pth", under="model", extra=extra)
    raw = load_torch_file(path)
    assert raw["args"].model == "resnet18" and raw["args"].epochs == 90 and raw["epoch"] == 3
    net = network()
    report = load(net, {"path": str(path), "rules": "torch"})
    assert report.ok and len(report.matched) == 7
    np.testing.assert_array_equal({p.name: p.asnumpy() for p in net.get_parameters()}["fc.bias"], storage[-3:])


def test_other_globals_stay_refused_next_to_the_admitted_ones(tmp_path):
    path, _ = write_state(tmp_path / "bad.pth", under="model", extra=pickle_text("x") + b"cos\nsystem\n)R")
    with pytest.raises(ConfigError, match="names the global 'os.system'"):
        from mm_train.migrate.torch_pickle import load_torch_file
        load_torch_file(path)


def test_import_weights_takes_a_raw_path_and_rules_mapping(tmp_path):
    from mm_train.migrate.weights import import_weights

    path, _ = write_state(tmp_path / "w.pth")
    report = import_weights(network(), {"path": str(path), "rules": "torch"})
    assert report.ok and len(report.matched) == 7


def test_weights_convert_with_a_recipe_uses_its_weight_rules(tmp_path, monkeypatch, capsys):
    """The recipe names keras_resnet50 in network.weight_rules; the .npz's default (keras) would match nothing."""
    from mm_train.commands import main
    from migrate_helpers import KERAS_RESNET
    from test_migrate_keras import keras_variables

    np.savez(tmp_path / "keras.npz", **keras_variables())
    write_recipe(tmp_path / "recipes", "small_keras", KERAS_RESNET + "  weight_rules: keras_resnet50\n")
    monkeypatch.setenv("MM_TRAIN_RECIPE_PATH", str(tmp_path / "recipes"))
    code = main(["weights", "convert", str(tmp_path / "keras.npz"), str(tmp_path / "o.ckpt"), "--recipe",
                 "small_keras", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0 and "matched 42 of 42 target parameters" in out, out
