"""Graph networks: layers that name their ``inputs``, parameter names from layer names, wiring errors."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import training_helpers  # noqa: F401  (sets the CPU device before any kernel runs, for the in-process training)
from helpers import ROOT, compose
from mm_train.core.errors import ConfigError

SNAPSHOT = json.loads((Path(__file__).parent / "fixtures" / "recipe_parameters.json").read_text())
HEAVY = {name for name, row in SNAPSHOT.items() if row["values"] > 1_000_000}   # built in test_networks too


def branchy(**extra_layers) -> dict:
    """A small network with parallel branches, a concat, a residual add, a scale Parameter and dotted names."""
    layers = {
        "stem": {"type": "ConvBNReLU", "out_channels": 8, "kernel_size": 3},
        "b1": {"type": "Conv2d", "out_channels": 4, "kernel_size": 1},
        "b2": {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "inputs": "stem"},
        "b2_bn": {"type": "BatchNorm2d"},
        "cat": {"type": "Concat", "axis": 1, "inputs": ["b1", "b2_bn"]},
        "skip": {"type": "Add", "inputs": ["cat", "stem"]},
        "layer_scale": {"type": "Parameter", "shape": [8, 1, 1], "init": "ones", "inputs": []},
        "scaled": {"type": "Mul", "inputs": ["skip", "layer_scale"]},
        "features.pool": {"type": "GlobalAvgPool"},
        "classifier.fc": {"type": "Dense", "out_channels": 10},
        **extra_layers,
    }
    return {"input_shape": [3, 8, 8], "layers": layers}


def build(network: dict):
    from mm_train.nn.builder import build_network
    return build_network(network)


@pytest.mark.parametrize("recipe", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n
                                    for n in sorted(SNAPSHOT)])
def test_builtin_chain_recipes_keep_their_cell_and_parameter_names(recipe):
    from mindspore import nn
    overrides = ["dataset.image_size=32"] if "image_size" in (ROOT / "recipes" / f"{recipe}.yaml").read_text() else []
    net, _ = build(compose(recipe, *overrides)["network"])
    names = [p.name for p in net.get_parameters()]
    assert type(net) is nn.SequentialCell
    assert {"parameters": len(names), "values": int(sum(p.size for p in net.get_parameters())),
            "names_sha256": hashlib.sha256("\n".join(names).encode()).hexdigest()} == SNAPSHOT[recipe]


def test_layer_names_with_dots_are_the_parameter_names():
    net, infos = build(branchy())
    names = {p.name: tuple(p.shape) for p in net.get_parameters()}
    assert names == {
        "stem.conv.weight": (8, 3, 3, 3), "stem.bn.moving_mean": (8,), "stem.bn.moving_variance": (8,),
        "stem.bn.gamma": (8,), "stem.bn.beta": (8,), "b1.weight": (4, 8, 1, 1), "b2.weight": (4, 8, 3, 3),
        "b2_bn.moving_mean": (4,), "b2_bn.moving_variance": (4,), "b2_bn.gamma": (4,), "b2_bn.beta": (4,),
        "layer_scale": (8, 1, 1), "classifier.fc.weight": (10, 8), "classifier.fc.bias": (10,)}
    by_name = {i.name: i for i in infos}
    assert by_name["cat"].output_shape == (8, 8, 8) and by_name["cat"].inputs == ("b1", "b2_bn")
    assert by_name["stem"].inputs == ("input",)


def _forward(network, mode, x):
    import mindspore as ms
    ms.set_context(mode=mode)
    try:
        ms.set_seed(1)
        net, _ = build(network)
        net.set_train(False)
        return net(ms.Tensor(x)).asnumpy()
    finally:
        ms.set_context(mode=ms.GRAPH_MODE)


def test_graph_network_gives_the_same_output_in_graph_and_pynative_mode():
    import mindspore as ms
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    graph = _forward(branchy(), ms.GRAPH_MODE, x)
    eager = _forward(branchy(), ms.PYNATIVE_MODE, x)
    assert graph.shape == (2, 10)
    np.testing.assert_allclose(graph, eager, rtol=1e-5, atol=1e-5)


def test_graph_network_trains_gradients_reach_every_parameter_and_batchnorm_statistics_move():
    import mindspore as ms
    from mindspore import nn
    net, _ = build(branchy())
    loss_net = nn.WithLossCell(net, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"))
    weights = net.trainable_params()
    grad = ms.ops.GradOperation(get_by_list=True)(loss_net, ms.ParameterTuple(weights))
    rng = np.random.default_rng(0)
    x = ms.Tensor(rng.standard_normal((4, 3, 8, 8)).astype(np.float32))
    y = ms.Tensor(rng.integers(0, 10, 4).astype(np.int32))
    loss_net.set_train(True)
    grads = grad(x, y)
    silent = [p.name for p, g in zip(weights, grads) if not np.abs(g.asnumpy()).sum() > 0]
    assert not silent, f"no gradient reaches {silent}"
    before = net.parameters_dict()["b2_bn.moving_mean"].asnumpy().copy()
    loss_net(x, y)
    assert not np.allclose(before, net.parameters_dict()["b2_bn.moving_mean"].asnumpy())


def test_graph_checkpoint_carries_the_dotted_names_and_loads_into_a_new_network(tmp_path):
    import mindspore as ms
    net, _ = build(branchy())
    net.parameters_dict()["layer_scale"].set_data(ms.Tensor(np.full((8, 1, 1), 0.5, np.float32)))
    path = tmp_path / "graph.ckpt"
    ms.save_checkpoint(net, str(path))
    saved = ms.load_checkpoint(str(path))
    assert {"stem.conv.weight", "classifier.fc.weight", "layer_scale"} <= set(saved)
    fresh, _ = build(branchy())
    not_loaded, _ = ms.load_param_into_net(fresh, saved, strict_load=True)
    assert not not_loaded
    np.testing.assert_array_equal(fresh.parameters_dict()["layer_scale"].asnumpy(), np.full((8, 1, 1), 0.5))
    np.testing.assert_array_equal(fresh.parameters_dict()["stem.conv.weight"].asnumpy(),
                                  net.parameters_dict()["stem.conv.weight"].asnumpy())


def test_output_names_the_layer_the_network_returns():
    network = branchy()
    network["output"] = "features.pool"
    net, _ = build(network)
    import mindspore as ms
    out = net(ms.Tensor(np.zeros((2, 3, 8, 8), np.float32)))
    assert out.shape == (2, 8)


@pytest.mark.parametrize("inputs, message", [
    ("stme", "network.layers.b2.inputs: unknown layer 'stme' (expected an earlier layer or 'input'). "
             "Did you mean 'stem'?"),
    ("b2", "network.layers.b2.inputs: layer 'b2' names itself"),
    ("cat", "network.layers.b2.inputs: a cycle: b2 -> cat -> b2"),
    ("skip", "network.layers.b2.inputs: a cycle: b2 -> skip -> cat -> b2"),
    ("side", "network.layers.b2.inputs: 'side' comes later (layers run in the order they are written) "
             "(expected an earlier layer or 'input'; move 'side' above 'b2')"),
    (3, "network.layers.b2.inputs: got 3 (expected an earlier layer name, 'input', or a list of them"),
])
def test_an_input_that_is_unknown_later_itself_or_a_cycle_is_one_error_naming_the_layer(inputs, message):
    network = {**branchy(side={"type": "Identity", "inputs": "input"}), "output": "classifier.fc"}
    network["layers"]["b2"]["inputs"] = inputs
    with pytest.raises(ConfigError) as err:
        build(network)
    assert str(err.value).startswith(message)


def test_unknown_output_suggests_a_layer():
    network = branchy()
    network["output"] = "classifier.fx"
    with pytest.raises(ConfigError, match=r"network.output: unknown layer 'classifier.fx'.*'classifier.fc'"):
        build(network)


def test_recipes_validate_finds_wiring_mistakes_before_building(tmp_path, monkeypatch, capsys):
    from mm_train.commands import main
    recipe = (ROOT / "recipes" / "quickstart.yaml").read_text().replace(
        "conv2: {type: ConvBNReLU,", "conv2: {inputs: [conv0], type: ConvBNReLU,")
    (tmp_path / "wired.yaml").write_text(recipe)
    monkeypatch.setenv("MM_TRAIN_RECIPE_PATH", str(tmp_path))
    assert main(["recipes", "validate", "wired"]) == 1
    out = capsys.readouterr().out
    assert "network.layers.conv2.inputs: unknown layer 'conv0'" in out and "Did you mean 'conv1'?" in out


def test_a_merge_block_with_one_input_says_how_many_it_takes():
    network = branchy()
    network["layers"]["skip"]["inputs"] = ["cat"]
    with pytest.raises(ConfigError, match=r"network.layers.skip.inputs: Add takes 2 or more inputs but gets 1"):
        build(network)


def test_inputs_inside_a_block_are_refused():
    network = {"input_shape": [3, 8, 8], "layers": {"block": {"type": "Sequential", "layers": {
        "a": {"type": "Conv2d", "out_channels": 4, "kernel_size": 1}, "b": {"type": "ReLU", "inputs": "a"}}}}}
    with pytest.raises(ConfigError, match=r"network.layers.block.layers.b.inputs: a layer inside a block"):
        build(network)


def test_a_parameter_past_the_limit_stops_before_it_is_allocated():
    from mm_train.nn.builder import build_network
    network = branchy(huge={"type": "Parameter", "shape": [1, 50000, 50000], "inputs": []})
    with pytest.raises(ConfigError, match=r"network.layers.huge: the network would have about 2,500,00\d,\d+ "
                                          r"parameters .* more than limits.max_params=1,000,000"):
        build_network(network, max_params=1_000_000)


def test_colliding_parameter_names_are_an_error():
    network = branchy(**{"b1.weight": {"type": "Parameter", "shape": [1, 4], "inputs": []}})
    with pytest.raises(ConfigError, match=r"network.layers.b1.weight: parameter 'b1.weight' is also a parameter "
                                          r"of layer 'b1'"):
        build(network)


@pytest.mark.slow   # the bundled recipe trained for an epoch on all the digits
def test_inception_recipe_trains_on_the_digits_and_saves_dotted_names(tmp_path):
    """The bundled graph recipe (parallel branches, Concat, residual Add) learns the digits in 1 epoch."""
    import mindspore as ms
    from mm_train.jobs import execute
    config = compose("inception_digits", "train.epochs=1", "lr_schedule.warmup_epochs=0")
    assert config["device"].get("mode", "graph") == "graph"
    accuracy = execute(config, tmp_path, "inception_digits")
    assert accuracy >= 0.9
    saved = ms.load_checkpoint(str(sorted((tmp_path / "checkpoints").glob("*.ckpt"))[-1]))
    assert {"inception.branch3x3.conv.weight", "inception.pool_proj.bn.moving_mean", "stem.conv.weight",
            "fc.weight"} <= set(saved)


def test_summary_of_a_graph_network_shows_each_layers_inputs():
    from mm_train.tasks.inspection import summary_lines
    lines = summary_lines(compose("inception_digits")["network"], "inception_digits")
    row = next(line for line in lines if line.startswith("inception.concat "))
    assert row.split()[:3] == ["inception.concat", "Concat", "inception.branch1x1,"]
    assert "inception.pool_proj" in row and "(32, 8, 8)" in row
    assert lines[-1] == "Total params: 33,122"


@pytest.mark.parametrize("recipe", ["inception_digits", "branchy"])
def test_check_runs_every_graph_layer_on_its_own_inputs(recipe, tmp_path, capsys):
    import mindspore as ms
    from mm_train.tasks.inspection import check
    config = compose("inception_digits", "device.mode=pynative")
    if recipe == "branchy":   # with a Parameter that has no batch axis
        config["network"] = branchy()
    old = ms.get_context("mode")
    ms.set_context(mode=ms.PYNATIVE_MODE)   # GRAPH mode is covered above; this is about the per-layer inputs
    try:
        results = check(config, tmp_path, recipe)
    finally:
        ms.set_context(mode=old)
    assert all(r.ok for r in results)
    assert [r.part for r in results][-3:] == ["fc" if recipe != "branchy" else "classifier.fc", "network",
                                              "train step"]
    assert f"check passed: all {len(config['network']['layers']) + 2} parts" in capsys.readouterr().out


def test_the_vit_token_stem_in_the_docs_builds_with_parameters_named_by_their_layers():
    import yaml
    import mindspore as ms
    text = (ROOT / "docs" / "networks.md").read_text()
    block = text.split("A ViT's token stem, written with these blocks:")[1].split("```yaml")[1].split("```")[0]
    net, infos = build({"input_shape": [3, 8, 8], "layers": yaml.safe_load(block)})
    assert infos[-1].output_shape == (17, 64)
    assert [p.name for p in net.get_parameters()] == ["patches.weight", "patches.bias", "class_token",
                                                      "pos_embedding"]
    assert net(ms.Tensor(np.ones((2, 3, 8, 8), np.float32))).shape == (2, 17, 64)


def _linear_graph():
    """``x @ proj.w`` as a graph: a Parameter layer (named exactly 'proj.w') and a MatMul."""
    return build({"input_shape": [4], "layers": {
        "proj.w": {"type": "Parameter", "shape": [4, 1], "init": "ones", "inputs": []},
        "out": {"type": "MatMul", "inputs": ["input", "proj.w"]}}})[0]


def test_graph_network_in_the_train_step_with_ema_and_accumulation_follows_the_closed_form():
    """SGD on sum(x @ w): w_t = 1 - lr*g*t and its EMA as in tests/test_ema.py; 2 micro-batches of the same
    sample give the gradient of one (the mean), so the weights match the plain run."""
    import mindspore as ms
    from mindspore import nn
    from mm_train.learning.amp import LossScale
    from mm_train.learning.train_step import build_train_network

    class Sum(nn.Cell):
        def construct(self, logits, label):
            return logits.sum()

    lr, decay, steps = 0.01, 0.9, 12
    x = np.array([[0.5, -1.0, 2.0, 0.25]], np.float32)
    g = x[0].astype(np.float64)
    for micro in (1, 2):
        network = _linear_graph()
        step = build_train_network(network, Sum(), nn.SGD(network.trainable_params(), lr), LossScale(),
                                   micro_batches=micro, ema_decay=decay)
        for _ in range(steps):
            step(ms.Tensor(np.repeat(x, micro, 0)), ms.Tensor(np.zeros(micro, np.int32)))
        saved = {p.name: p.asnumpy() for p in step.get_parameters()}
        np.testing.assert_allclose(saved["proj.w"][:, 0], 1 - lr * g * steps, rtol=0, atol=1e-5)
        expected = 1 - lr * g * (steps - decay * (1 - decay ** steps) / (1 - decay))
        np.testing.assert_allclose(saved["ema.proj.w"][:, 0], expected, rtol=0, atol=1e-5)


def dense_block(layers_in_block: int = 4) -> dict:
    """A DenseNet block: each layer sees the concatenation of the stem and every layer before it."""
    layers, features = {"stem": {"type": "Conv2d", "out_channels": 4, "kernel_size": 3}}, ["stem"]
    for i in range(layers_in_block):
        p = f"features.denseblock1.denselayer{i + 1}"
        layers[f"{p}.cat"] = {"type": "Concat", "axis": 1, "inputs": list(features)} if len(features) > 1 else \
            {"type": "Identity", "inputs": features[0]}
        layers[f"{p}.norm1"] = {"type": "BatchNorm2d"}
        layers[f"{p}.relu1"] = {"type": "ReLU"}
        layers[f"{p}.conv1"] = {"type": "Conv2d", "out_channels": 2, "kernel_size": 3}
        features.append(f"{p}.conv1")
    layers["all"] = {"type": "Concat", "axis": 1, "inputs": features}
    layers["pool"] = {"type": "GlobalAvgPool"}
    layers["fc"] = {"type": "Dense", "out_channels": 3}
    return {"input_shape": [3, 6, 6], "layers": layers}


def test_a_dense_block_concatenating_many_earlier_layers_runs_alike_in_graph_and_pynative_mode():
    import mindspore as ms
    x = np.random.default_rng(1).standard_normal((2, 3, 6, 6)).astype(np.float32)
    graph = _forward(dense_block(), ms.GRAPH_MODE, x)
    eager = _forward(dense_block(), ms.PYNATIVE_MODE, x)
    np.testing.assert_allclose(graph, eager, rtol=1e-5, atol=1e-5)
    net, infos = build(dense_block())
    assert {i.name: i.output_shape for i in infos}["all"] == (12, 6, 6)   # 4 + 4 layers x 2 channels
    assert "features.denseblock1.denselayer4.conv1.weight" in {p.name for p in net.get_parameters()}
