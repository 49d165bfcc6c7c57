"""Networks from recipes: the ResNet family against the model zoo's structure, Residual, init, bad input."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
from helpers import assert_user_error, compose, read_metrics, run_main
from mm_train.core.errors import ConfigError

CONV_STAGES = {"resnet50": [3, 4, 6, 3], "resnet101": [3, 4, 23, 3], "resnet152": [3, 8, 36, 3]}


composed = compose   # (recipe, *overrides) -> the resolved config


_BUILT: dict = {}


def built(recipe: str):
    """(network, infos) of a recipe at 32x32 (the parameter set does not depend on the image size)."""
    from mm_train.nn.builder import build_network
    if recipe not in _BUILT:
        _BUILT[recipe] = build_network(composed(recipe, "dataset.image_size=32")["network"])
    return _BUILT[recipe]


def params(net) -> dict[str, tuple]:
    return {p.name: tuple(p.shape) for p in net.get_parameters()}


def trainable(net) -> int:
    return sum(p.size for p in net.trainable_params())


# --- the model zoo's structure, written out (official/cv/ResNet/src/resnet.py) -------------------------

def _conv(out, name, cin, cout, k):
    out[f"{name}.weight"] = (cout, cin, k, k)


def _bn(out, name, c):
    for suffix in ("moving_mean", "moving_variance", "gamma", "beta"):
        out[f"{name}.{suffix}"] = (c,)


def zoo_bottleneck_resnet(layer_nums, num_classes=10) -> dict[str, tuple]:
    """ResNet(ResidualBlock, layer_nums, [64, 256, 512, 1024], [256, 512, 1024, 2048], [1, 2, 2, 2])."""
    out: dict[str, tuple] = {}
    _conv(out, "conv1", 3, 64, 7)
    _bn(out, "bn1", 64)
    cin = 64
    for i, (n, cout, stride) in enumerate(zip(layer_nums, [256, 512, 1024, 2048], [1, 2, 2, 2]), start=1):
        for j in range(n):
            p, mid = f"layer{i}.{j}", cout // 4
            _conv(out, f"{p}.conv1", cin, mid, 1)
            _bn(out, f"{p}.bn1", mid)
            _conv(out, f"{p}.conv2", mid, mid, 3)
            _bn(out, f"{p}.bn2", mid)
            _conv(out, f"{p}.conv3", mid, cout, 1)
            _bn(out, f"{p}.bn3", cout)
            if (stride if j == 0 else 1) != 1 or cin != cout:
                _conv(out, f"{p}.down_sample_layer.0", cin, cout, 1)
                _bn(out, f"{p}.down_sample_layer.1", cout)
            cin = cout
    out["end_point.weight"] = (num_classes, 2048)
    out["end_point.bias"] = (num_classes,)
    return out


def zoo_basic_resnet(layer_nums, num_classes=10) -> dict[str, tuple]:
    """ResNet(ResidualBlockBase, layer_nums, [64, 64, 128, 256], [64, 128, 256, 512], [1, 2, 2, 2], res_base)."""
    out: dict[str, tuple] = {}
    _conv(out, "conv1", 3, 64, 7)
    _bn(out, "bn1", 64)
    cin = 64
    for i, (n, cout, stride) in enumerate(zip(layer_nums, [64, 128, 256, 512], [1, 2, 2, 2]), start=1):
        for j in range(n):
            p = f"layer{i}.{j}"
            _conv(out, f"{p}.conv1", cin, cout, 3)
            _bn(out, f"{p}.bn1d", cout)
            _conv(out, f"{p}.conv2", cout, cout, 3)
            _bn(out, f"{p}.bn2d", cout)
            if (stride if j == 0 else 1) != 1 or cin != cout:
                _conv(out, f"{p}.down_sample_layer.0", cin, cout, 1)
                _bn(out, f"{p}.down_sample_layer.1", cout)
            cin = cout
    out["end_point.weight"] = (num_classes, 512)
    out["end_point.bias"] = (num_classes,)
    return out


def _trainable_count(expected: dict[str, tuple]) -> int:
    return sum(math.prod(s) for n, s in expected.items() if not n.endswith(("moving_mean", "moving_variance")))


@pytest.mark.slow   # the full-size ResNet-50 (25.6 M parameters) built, saved and loaded
def test_resnet50_is_exactly_the_zoo_network(tmp_path):
    import mindspore as ms
    from mm_train.assembly.init_from import load as load_weights

    net, _ = built("resnet50_cifar")
    expected = zoo_bottleneck_resnet([3, 4, 6, 3])
    assert trainable(net) == 23_528_522 == _trainable_count(expected)
    assert params(net) == expected
    assert [p.name for p in net.get_parameters()][:5] == ["conv1.weight", "bn1.moving_mean", "bn1.moving_variance",
                                                          "bn1.gamma", "bn1.beta"]
    # a checkpoint with exactly the zoo's keys loads, strictly, with nothing missing or left over
    from mm_train.nn.builder import build_network
    net, _ = build_network(composed("resnet50_cifar")["network"])   # a fresh one: the cached one stays sane
    rng = np.random.default_rng(0)
    ckpt = tmp_path / "zoo_resnet50.ckpt"
    ms.save_checkpoint([{"name": n, "data": ms.Tensor(rng.standard_normal(s).astype(np.float32))}
                        for n, s in expected.items()], str(ckpt))
    load_weights(net, str(ckpt))
    loaded = ms.load_checkpoint(str(ckpt))
    assert np.array_equal(net.end_point.weight.asnumpy(), loaded["end_point.weight"].asnumpy())


@pytest.mark.parametrize("recipe, expected, count", [
    ("resnet18_cifar", zoo_basic_resnet([2, 2, 2, 2]), 11_181_642),
    ("resnet34_cifar", zoo_basic_resnet([3, 4, 6, 3]), 21_289_802),
    pytest.param("resnet101_cifar", zoo_bottleneck_resnet([3, 4, 23, 3]), 42_520_650,
                 marks=pytest.mark.slow),   # full-size: tens of millions of parameters initialised
    pytest.param("resnet152_cifar", zoo_bottleneck_resnet([3, 8, 36, 3]), 58_164_298, marks=pytest.mark.slow),
])
def test_resnet_family_names_shapes_and_counts(recipe, expected, count):
    # counts: torchvision's published totals for 1000 classes less the head difference (10 classes)
    net, _ = built(recipe)
    assert trainable(net) == count == _trainable_count(expected)
    assert params(net) == expected


def test_torchvision_resnet50_variant():
    from mindspore import nn
    net, infos = built("resnet50_torchvision")
    assert trainable(net) == 25_557_032
    names = params(net)
    assert names["fc.weight"] == (1000, 2048) and names["fc.bias"] == (1000,)
    assert names["layer1.0.downsample.0.weight"] == (256, 64, 1, 1)
    assert names["layer3.5.bn3.gamma"] == (1024,)
    assert not any("down_sample_layer" in n or "end_point" in n for n in names)
    assert infos[-1].name == "fc" and infos[-1].output_shape == (1000,)
    convs = [c for _, c in net.cells_and_names() if isinstance(c, nn.Conv2d)]
    bns = [c for _, c in net.cells_and_names() if isinstance(c, nn.BatchNorm2d)]
    assert convs and all(c.pad_mode == "pad" and c.padding == c.kernel_size[0] // 2 for c in convs)
    assert bns and all(abs(b.bn_train.epsilon - 1e-5) < 1e-12 for b in bns)


def test_resnet101_is_resnet50_with_one_key_overridden():
    def flat(d, prefix=""):
        out = {}
        for k, v in d.items():
            out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
        return out
    r50, r101 = flat(composed("resnet50_cifar")), flat(composed("resnet101_cifar"))
    assert {k for k in r50.keys() | r101.keys() if r50.get(k) != r101.get(k)} == {"network.layers.layer3.repeat"}
    assert r101["network.layers.layer3.repeat"] == 23


@pytest.mark.parametrize("recipe, classes", [("resnet18_cifar", 10), ("resnet34_cifar", 10), ("resnet50_cifar", 10),
                                             ("resnet101_cifar", 10), ("resnet152_cifar", 10),
                                             ("resnet50_torchvision", 1000)])
def test_forward_of_each_resnet_recipe(recipe, classes):
    import mindspore as ms
    ms.set_context(mode=ms.PYNATIVE_MODE)
    net, _ = built(recipe)
    net.set_train(False)
    logits = net(ms.Tensor(np.random.default_rng(1).standard_normal((2, 3, 32, 32)).astype(np.float32)))
    assert logits.shape == (2, classes)
    assert np.isfinite(logits.asnumpy()).all()


def test_recipe_initialisers_are_applied():
    from mindspore import nn
    from mm_train.nn.builder import build_network

    net, _ = build_network({"input_shape": [3, 8, 8],
                            "init": {"Conv2d": "Zero", "Dense": {"weight": {"type": "Constant", "value": 0.25},
                                                                 "bias": 1.5},
                                     "BatchNorm2d": {"gamma": "Normal(sigma=0.0, mean=3.0)"}},
                            "layers": {"stem": {"type": "ConvBNReLU", "out_channels": 4},
                                       "block": {"type": "BasicBlock", "out_channels": 8, "stride": 2},
                                       "pool": {"type": "GlobalAvgPool"},
                                       "fc": {"type": "Dense", "out_channels": 3}}})
    convs = [c for _, c in net.cells_and_names() if isinstance(c, nn.Conv2d)]
    assert len(convs) == 4 and all(not c.weight.asnumpy().any() for c in convs)   # inside blocks too
    assert np.all(net.fc.weight.asnumpy() == 0.25) and np.all(net.fc.bias.asnumpy() == 1.5)
    gammas = [c.gamma.asnumpy() for _, c in net.cells_and_names() if isinstance(c, nn.BatchNorm2d)]
    assert len(gammas) == 4 and all(np.allclose(g, 3.0) for g in gammas)

    # the zoo recipe's own choice: kaiming normal, fan_out -> std sqrt(2 / (out * k * k))
    zoo, _ = built("resnet50_cifar")
    w = zoo.layer3[0].conv2.weight.asnumpy()
    assert abs(w.std() - math.sqrt(2 / (256 * 9))) < 0.1 * math.sqrt(2 / (256 * 9))
    assert not zoo.end_point.bias.asnumpy().any()


def test_residual_block_written_in_yaml_equals_basic_block():
    import mindspore as ms
    from mm_train.nn.builder import build_network

    conv = {"type": "Conv2d", "kernel_size": 3, "pad_mode": "pad", "padding": 1, "out_channels": 16}
    yaml_block = {"type": "Residual", "shortcut_name": "down_sample_layer",
                  "body": {"conv1": {**conv, "stride": 2}, "bn1d": {"type": "BatchNorm2d"}, "relu": {"type": "ReLU"},
                           "conv2": conv, "bn2d": {"type": "BatchNorm2d"}},
                  "shortcut": [{"type": "Conv2d", "out_channels": 16, "kernel_size": 1, "stride": 2},
                               {"type": "BatchNorm2d"}]}
    a, infos = build_network({"input_shape": [8, 8, 8], "layers": {"block": yaml_block}})
    b, _ = build_network({"input_shape": [8, 8, 8], "layers": {"block": {
        "type": "BasicBlock", "out_channels": 16, "stride": 2, "eps": 1e-5}}})
    assert params(a) == params(b)
    assert infos[0].output_shape == (16, 4, 4)
    ms.load_param_into_net(a, {p.name: p for p in b.get_parameters()})
    x = ms.Tensor(np.random.default_rng(2).standard_normal((2, 8, 8, 8)).astype(np.float32))
    a.set_train(False), b.set_train(False)
    assert np.allclose(a(x).asnumpy(), b(x).asnumpy(), atol=1e-5)

    # no shortcut: the identity; the output is relu(body(x) + x)
    ident, _ = build_network({"input_shape": [4, 6, 6], "layers": {"r": {
        "type": "Residual", "body": [{"type": "Conv2d", "out_channels": 4, "kernel_size": 3}], "activation": None}}})
    x = np.random.default_rng(3).standard_normal((1, 4, 6, 6)).astype(np.float32)
    conv_only = ident.r.body[0](ms.Tensor(x)).asnumpy()
    assert np.allclose(ident(ms.Tensor(x)).asnumpy(), conv_only + x, atol=1e-5)
    assert sorted(params(ident)) == ["r.0.weight"]


# --- bad input ----------------------------------------------------------------------------------------

def _error(network: dict) -> str:
    from mm_train.nn.builder import build_network
    with pytest.raises(ConfigError) as info:
        build_network(network)
    return str(info.value)


def test_dense_after_conv_without_flatten():
    message = _error({"input_shape": [3, 8, 8], "layers": {"conv": {"type": "Conv2d", "out_channels": 4,
                                                                      "kernel_size": 3},
                                                             "fc": {"type": "Dense", "out_channels": 10}}})
    assert message == ("network.layers.fc: Dense needs a flat (features,) input but gets shape (4, 8, 8); "
                       "put a Flatten or GlobalAvgPool layer before it")


def test_stage_stride_shrinks_the_map_below_one():
    message = _error({"input_shape": [3, 8, 8], "layers": {
        "stem": {"type": "Conv2d", "out_channels": 16, "kernel_size": 3, "stride": 4, "pad_mode": "valid"},
        "layer1": {"type": "Stage", "block": "BasicBlock", "repeat": 2, "out_channels": 32, "stride": 2,
                   "pad_mode": "valid"}}})
    assert message == ("network.layers.layer1: block 0 of 2 (BasicBlock, stride 2, input shape (16, 2, 2)): "
                       "BasicBlock shrinks the 2x2 map below 1x1 (kernel (3, 3), stride (2, 2), pad_mode valid): "
                       "use a larger input or fewer strides")


def test_unknown_and_missing_block_arguments():
    message = _error({"input_shape": [3, 8, 8], "layers": {"conv1": {"type": "Conv2d", "out_channels": 4,
                                                                       "kernel": 3}}})
    assert "network.layers.conv1.kernel: unknown argument" in message
    assert "Did you mean 'kernel_size'?" in message
    assert "network.layers.conv1.kernel_size: missing required argument" in message
    message = _error({"input_shape": [3, 8, 8], "layers": {"layer1": {"type": "Stage", "block": "BasicBlock",
                                                                        "repeat": 1, "out_channels": 8,
                                                                        "stides": 2}}})
    assert message.startswith("network.layers.layer1.stides: unknown argument")
    assert "Did you mean 'stride'" in message


def test_residual_and_init_mistakes():
    message = _error({"input_shape": [3, 8, 8], "layers": {"r": {"type": "Residual", "body": [
        {"type": "Conv2d", "out_channels": 8, "kernel_size": 3}]}}})
    assert message == ("network.layers.r: Residual body gives shape (8, 8, 8) but the shortcut gives (3, 8, 8) "
                       "(the identity: no shortcut given); add a shortcut that maps (3, 8, 8) to (8, 8, 8): "
                       "both must be equal to be added")
    message = _error({"input_shape": [3, 8, 8], "layers": {"r": {"type": "Residual", "body": {
        "conv": {"type": "Conv2d", "out_channels": 8, "kernal_size": 3}}}}})
    assert "network.layers.r.body.conv.kernal_size: unknown argument" in message
    message = _error({"input_shape": [3, 8, 8], "init": {"Conv2D": "HeNormal", "Dense": "HeNormall"},
                      "layers": {"c": {"type": "Conv2d", "out_channels": 8, "kernel_size": 3}}})
    assert "network.init.Conv2D: unknown layer type" in message and "Did you mean 'Conv2d'" in message
    assert "network.init.Dense.weight: unknown initializer 'HeNormall'" in message
    assert "Did you mean 'HeNormal'" in message


def test_bad_network_through_run_py_exits_2():
    result = run_main("+recipe=lenet_digits", "task=summary", "~network.layers.flatten")
    assert_user_error(result, "network.layers.fc1: Dense needs a flat (features,) input but gets shape (16, 5, 5)")


# --- training ------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_resnet18_trains_a_few_steps_on_cpu(cifar_dir, tmp_path):
    run_dir = tmp_path / "run"
    result = run_main("+recipe=resnet18_cifar", f"paths.data={cifar_dir.parent}", "dataset.image_size=32",
                    "dataset.train.batch_size=8", "+dataset.train.limit=32", "dataset.eval.batch_size=16",
                    "+dataset.eval.limit=32", "train.epochs=2", "train.eval_interval=1",
                    "callbacks=[{type: LossMonitor, per_print_times: 1}]",
                    "lr_schedule.warmup_epochs=1", "lr_schedule.lr_init=0.001", "lr_schedule.lr_max=0.01",
                    f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    losses = [float(m) for m in re.findall(r"step: \d+, loss is ([-\w.]+)", result.stdout)]
    assert len(losses) == 8 and all(math.isfinite(v) for v in losses), result.stdout[-2000:]
    metrics = read_metrics(run_dir)
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert math.isfinite(metrics["final"]["loss"]) and 0.0 <= metrics["final"]["acc"] <= 1.0


@pytest.mark.slow
def test_lenet_recipe_learns_the_bundled_digits(tmp_path):
    result = run_main("+recipe=lenet_digits", "callbacks=[]", f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_metrics(tmp_path / "run")["final"]["acc"] >= 0.95


def test_zoo_pad_then_valid_maxpool_equals_padded_maxpool_after_relu():
    """resnet18_cifar's stem writes the zoo's Pad + 'valid' max-pool as one max-pool with padding 1."""
    import mindspore as ms
    from mm_train.nn.builder import build_network

    zoo, zoo_infos = build_network({"input_shape": [4, 9, 9], "layers": {
        "relu": {"type": "ReLU"}, "pad": {"type": "Pad", "paddings": [[0, 0], [0, 0], [1, 1], [1, 1]]},
        "maxpool": {"type": "MaxPool2d", "kernel_size": 3, "stride": 2, "pad_mode": "valid"}}})
    ours, our_infos = build_network({"input_shape": [4, 9, 9], "layers": {
        "relu": {"type": "ReLU"},
        "maxpool": {"type": "MaxPool2d", "kernel_size": 3, "stride": 2, "pad_mode": "pad", "padding": 1}}})
    assert zoo_infos[1].output_shape == (4, 11, 11)
    assert zoo_infos[-1].output_shape == our_infos[-1].output_shape == (4, 5, 5)
    x = ms.Tensor(np.random.default_rng(4).standard_normal((2, 4, 9, 9)).astype(np.float32))
    assert np.array_equal(zoo(x).asnumpy(), ours(x).asnumpy())


def test_repeat_of_a_yaml_residual_block():
    import mindspore as ms
    from mm_train.nn.builder import build_network

    block = {"type": "Residual", "body": {"conv": {"type": "Conv2d", "out_channels": 8, "kernel_size": 3},
                                          "bn": {"type": "BatchNorm2d"}}}
    net, infos = build_network({"input_shape": [8, 6, 6], "layers": {
        "blocks": {"type": "Repeat", "repeat": 3, "block": block}}})
    assert infos[0].output_shape == (8, 6, 6)
    assert sorted(n for n in params(net) if n.endswith("weight")) == [
        "blocks.0.conv.weight", "blocks.1.conv.weight", "blocks.2.conv.weight"]
    assert net(ms.Tensor(np.ones((2, 8, 6, 6), np.float32))).shape == (2, 8, 6, 6)
    message = _error({"input_shape": [3, 6, 6], "layers": {"blocks": {"type": "Repeat", "repeat": 2,
                                                                       "block": block}}})
    assert message.startswith("network.layers.blocks.block: Residual body gives shape (8, 6, 6) but the "
                              "shortcut gives (3, 6, 6)")
