"""Graph networks: layers that name their ``inputs``, parameter names from layer names, wiring errors."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import training_helpers  # noqa: F401  (sets the CPU device before any kernel runs, for the in-process training)
from helpers import ROOT, compose
from mm_train.errors import ConfigError

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
    from mm_train.cli import main
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


def test_inception_recipe_trains_on_the_digits_and_saves_dotted_names(tmp_path):
    """The bundled graph recipe (parallel branches, Concat, residual Add) learns the digits in 1 epoch."""
    import mindspore as ms
    from mm_train.runner import execute
    config = compose("inception_digits", "train.epochs=1", "lr_schedule.warmup_epochs=0")
    assert config["device"].get("mode", "graph") == "graph"
    accuracy = execute(config, tmp_path, "inception_digits")
    assert accuracy >= 0.9
    saved = ms.load_checkpoint(str(sorted((tmp_path / "checkpoints").glob("*.ckpt"))[-1]))
    assert {"inception.branch3x3.conv.weight", "inception.pool_proj.bn.moving_mean", "stem.conv.weight",
            "fc.weight"} <= set(saved)


def test_summary_of_a_graph_network_shows_each_layers_inputs():
    from mm_train.inspection import summary_lines
    lines = summary_lines(compose("inception_digits")["network"], "inception_digits")
    row = next(line for line in lines if line.startswith("inception.concat "))
    assert row.split()[:3] == ["inception.concat", "Concat", "inception.branch1x1,"]
    assert "inception.pool_proj" in row and "(32, 8, 8)" in row
    assert lines[-1] == "Total params: 33,122"


def test_check_runs_every_graph_layer_on_its_own_inputs(tmp_path, capsys):
    import mindspore as ms
    from mm_train.inspection import check
    config = compose("inception_digits", "device.mode=pynative")
    old = ms.get_context("mode")
    ms.set_context(mode=ms.PYNATIVE_MODE)   # GRAPH mode is covered above; this is about the per-layer inputs
    try:
        results = check(config, tmp_path, "inception_digits")
    finally:
        ms.set_context(mode=old)
    assert all(r.ok for r in results)
    assert [r.part for r in results][-3:] == ["fc", "network", "train step"]
    assert "check passed: all 15 parts" in capsys.readouterr().out


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
