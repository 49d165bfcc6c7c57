"""``mm-train migrate onnx``: ONNX graphs built with onnx.helper (no torch) become recipes whose networks
match onnxruntime, train, and pass ``mm-train parity``; bad files end with one message and exit 2."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import yaml

import onnx_graphs as g
import training_helpers  # noqa: F401  (claims the CPU device before any kernel runs)
from mm_train.commands import main
from mm_train.core.errors import ConfigError


def quiet(*_args, **_kwargs):
    pass


def convert(path: Path, **kwargs):
    from mm_train.commands.migrate import convert as run
    return run(path, "net", verbose_print=quiet, **kwargs)


def migrate(path: Path, out: Path, name: str = "net", *extra: str) -> int:
    return main(["migrate", "onnx", str(path), "--name", name, "--out", str(out), *extra])


def test_every_converter_has_a_graph_in_the_op_table():
    from mm_train.migrate.onnx.ops import supported
    shown = {part for row in g.OP_GRAPHS for part in row.split()[0].split("+")}
    assert set(supported()) <= shown, sorted(set(supported()) - shown)


@pytest.mark.parametrize("row", sorted(g.OP_GRAPHS))
def test_converted_op_matches_onnxruntime(row, tmp_path):
    path = g.save(g.OP_GRAPHS[row](), tmp_path)
    converted, _ = convert(path)
    assert converted.parity is not None and converted.parity.passed, converted.parity.text()
    op = row.split()[0].split("+")[0]
    assert f"| {op} |" in converted.markdown


def test_source_parameters_stay_trainable_parameters(tmp_path):
    converted, network = convert(g.save(g.class_token(), tmp_path))
    layers = converted.recipe["network"]["layers"]
    assert layers["class_token"] == {"type": "Parameter", "shape": [1, 1, 6], "requires_grad": True, "inputs": []}
    assert layers["encoder.pos_embedding"]["type"] == "Parameter"
    params = {p.name: p for p in network.trainable_params()}
    assert {"class_token", "encoder.pos_embedding"} <= set(params)
    np.testing.assert_array_equal(params["class_token"].asnumpy(), converted.weights["class_token"])


def _trains_every_parameter(network, shape):
    """One SGD step on a random batch: every trainable parameter gets a gradient and the loss goes down."""
    import mindspore as ms
    from mindspore import Tensor, nn
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal(shape).astype(np.float32))
    labels = Tensor(rng.integers(0, 10, shape[0]).astype(np.int32))
    loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    network.set_train(True)
    params = network.trainable_params()
    step = ms.value_and_grad(nn.WithLossCell(network, loss_fn), None, params)   # graph or PyNative mode
    loss, grads = step(x, labels)
    assert all(np.abs(grad.asnumpy()).sum() > 0 for grad in grads), \
        [p.name for p, grad in zip(params, grads) if not np.abs(grad.asnumpy()).sum()]
    nn.SGD(params, 0.05)(grads)
    assert float(step(x, labels)[0].asnumpy()) < float(loss.asnumpy())
    return {p.name for p in params}


def test_torch_multihead_attention_is_one_layer_at_parity_that_trains(tmp_path):
    converted, network = convert(g.save(g.tiny_vit(), tmp_path))
    assert converted.parity.passed, converted.parity.text()
    layers = converted.recipe["network"]["layers"]
    sa = "encoder.layers.encoder_layer_0.self_attention"
    assert layers[sa] == {"type": "MultiheadAttention", "num_heads": 2}
    assert not [k for k, v in layers.items() if v["type"] == "Transpose" and v["perm"][0] != 0]
    assert "| Softmax | 1 | fused into MultiheadAttention" in converted.markdown
    from onnx import numpy_helper
    source = {t.name: numpy_helper.to_array(t) for t in g.tiny_vit().graph.initializer}
    for name in ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"):
        np.testing.assert_array_equal(converted.weights[f"{sa}.{name}"], source[f"{sa}.{name}"])
    names = _trains_every_parameter(network, (4, 3, 8, 8))
    assert {f"{sa}.in_proj_weight", f"{sa}.out_proj.weight", "class_token", "encoder.pos_embedding"} <= names


def test_class_token_folded_over_a_fixed_batch_becomes_a_trainable_parameter(tmp_path):
    converted, network = convert(g.save(g.tiny_vit(folded_class_token=True), tmp_path))
    assert converted.parity.passed, converted.parity.text()
    layers = converted.recipe["network"]["layers"]
    assert layers["expand"] == {"type": "Parameter", "shape": [1, 1, 8], "requires_grad": True, "inputs": []}
    assert layers["expand_batched"] == {"type": "BroadcastBatch", "inputs": ["expand", "input"]}
    assert "a class token expanded to the batch" in converted.assessment
    assert "expand" in _trains_every_parameter(network, (2, 3, 8, 8))


def test_conv_bn_relu_of_one_module_is_one_block_with_the_source_names(tmp_path):
    converted, network = convert(g.save(g.conv_bn_relu(), tmp_path))
    layers = converted.recipe["network"]["layers"]
    assert list(layers) == ["features.0"]
    assert layers["features.0"]["type"] == "ConvBNAct" and layers["features.0"]["activation"] == "ReLU"
    assert layers["features.0"]["eps"] == 1e-3
    names = {p.name for p in network.get_parameters()}
    assert names == {"features.0.0.weight", "features.0.1.gamma", "features.0.1.beta", "features.0.1.moving_mean",
                     "features.0.1.moving_variance"}


def test_branching_graph_names_inputs_only_where_it_branches(tmp_path, capsys):
    path = g.save(g.inception(), tmp_path / "src")
    assert migrate(path, tmp_path / "out") == 0
    printed = capsys.readouterr().out
    assert "Concat" in printed and "PASSED" in printed
    recipe = yaml.safe_load((tmp_path / "out" / "net.yaml").read_text())
    layers = recipe["network"]["layers"]
    assert "inputs" not in layers["b1"]                       # the first layer takes the input
    assert layers["b2.0"]["inputs"] == "input"                # a second branch from the input
    assert "inputs" not in layers["b2.relu"]                  # a chain needs no inputs
    assert [v for v in layers.values() if v["type"] == "Concat"] == [{"type": "Concat", "axis": 1,
                                                                       "inputs": ["b1", "b2.1"]}]
    assert recipe["init_from"] == str((tmp_path / "out" / "net.ckpt").resolve())
    import mindspore as ms
    saved = ms.load_checkpoint(str(tmp_path / "out" / "net.ckpt"))
    import onnx
    from onnx import numpy_helper
    source = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}
    np.testing.assert_array_equal(saved["bn.moving_mean"].asnumpy(), source["bn.running_mean"])
    np.testing.assert_array_equal(saved["b2.1.weight"].asnumpy(), source["b2.1.weight"])
    assessment = (tmp_path / "out" / "net.assessment.md").read_text()
    assert "| Conv | 4 | Conv2d |" in assessment and "yes (the converted network ran on CPU)" in assessment


def test_parity_command_passes_on_the_converted_recipe(tmp_path, monkeypatch):
    import onnxruntime as ort
    path = g.save(g.inception(), tmp_path / "src")
    assert migrate(path, tmp_path / "out", "incep", "--no-parity") == 0
    x = np.random.default_rng(1).standard_normal((3, *g.X_SHAPE)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", session.run(None, {"x": x})[0])
    monkeypatch.setenv("MM_TRAIN_RECIPE_PATH", str(tmp_path / "out"))
    assert main(["parity", "+recipe=incep", "--input", str(tmp_path / "x.npy"),
                 "--expected", str(tmp_path / "y.npy")]) == 0
    np.save(tmp_path / "y.npy", session.run(None, {"x": x})[0] * 1.01)    # a 1% error fails
    assert main(["parity", "+recipe=incep", "--input", str(tmp_path / "x.npy"),
                 "--expected", str(tmp_path / "y.npy")]) == 1


@pytest.mark.slow
def test_converted_graph_trains_every_parameter(tmp_path, monkeypatch):
    from mm_train.jobs import execute
    from training_helpers import compose, weights
    path = g.save(g.inception(), tmp_path / "src")
    assert migrate(path, tmp_path / "out", "incep_train", "--no-parity") == 0
    monkeypatch.setenv("MM_TRAIN_RECIPE_PATH", str(tmp_path / "out"))
    config = compose("+dataset.train.limit=64", "dataset.train.batch_size=16", "+dataset.eval.limit=60",
                     "train.epochs=1", "callbacks=[{type: ModelCheckpoint}]", recipe="incep_train")
    execute(config, tmp_path / "run", "incep_train")
    before = weights(tmp_path / "out" / "incep_train.ckpt")
    after = weights(sorted((tmp_path / "run").rglob("*.ckpt"))[-1])
    trained = [k for k in before if not k.endswith(("moving_mean", "moving_variance"))]
    assert trained and all(not np.array_equal(before[k], after[k]) for k in trained), \
        [k for k in trained if np.array_equal(before[k], after[k])]
    assert not np.array_equal(before["bn.moving_mean"], after["bn.moving_mean"])   # BatchNorm trained in train mode


def test_bn_folded_graph_converts_at_parity_and_says_how_to_export_for_training(tmp_path):
    converted, _ = convert(g.save(g.bn_folded(), tmp_path))
    assert converted.parity.passed
    assert "folded BatchNorm into the convolutions" in converted.assessment
    assert "dynamo=False" in converted.assessment and "TrainingMode.TRAINING" in converted.assessment


def test_unsupported_op_prints_the_table_and_writes_nothing(tmp_path, capsys):
    built = g.model([g.node("Conv", ["x", "w"], ["c"]), g.node("ConvTranspose", ["c", "wt"], ["t"]),
                     g.node("Relu", ["t"], ["y"])], [g.tensor("w", 4, 3, 1, 1), g.tensor("wt", 4, 2, 2, 2)])
    path = g.save(built, tmp_path / "src")
    assert migrate(path, tmp_path / "out") == 2
    captured = capsys.readouterr()
    assert "ConvTranspose" in captured.out and "UNSUPPORTED" in captured.out and "Conv2dTranspose" in captured.out
    assert "unsupported operators ['ConvTranspose']; nothing written" in captured.err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def _with_external_data(tmp_path: Path, location: str) -> Path:
    import onnx
    built = g.inception()
    folder = tmp_path / "model"
    folder.mkdir()
    onnx.save(built, str(folder / "m.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
              location="m.data", size_threshold=0)
    model = onnx.load(str(folder / "m.onnx"), load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    onnx.save(model, str(folder / "m.onnx"))
    return folder / "m.onnx"


def test_external_data_inside_the_folder_converts(tmp_path):
    converted, _ = convert(_with_external_data(tmp_path, "m.data"))
    assert converted.parity.passed


@pytest.mark.parametrize("location", ["../m.data", "/etc/passwd", "sub/../../m.data"])
def test_external_data_outside_the_folder_is_refused(tmp_path, location, capsys):
    path = _with_external_data(tmp_path, location)
    (tmp_path / "m.data").write_bytes((path.parent / "m.data").read_bytes())
    assert migrate(path, tmp_path / "out") == 2
    assert f"external data path '{location}' is not inside the model's folder" in capsys.readouterr().err


def test_external_data_through_a_symlink_out_is_refused(tmp_path, capsys):
    path = _with_external_data(tmp_path, "link.data")
    outside = tmp_path / "elsewhere.data"
    outside.write_bytes((path.parent / "m.data").read_bytes())
    os.symlink(outside, path.parent / "link.data")
    assert migrate(path, tmp_path / "out") == 2
    assert "leads outside the model's folder" in capsys.readouterr().err


def test_truncated_external_data_is_one_message(tmp_path, capsys):
    path = _with_external_data(tmp_path, "m.data")
    data = path.parent / "m.data"
    data.write_bytes(data.read_bytes()[:100])
    assert migrate(path, tmp_path / "out") == 2
    assert "an untruncated data file" in capsys.readouterr().err


def test_truncated_model_file_is_one_message_naming_it(tmp_path, capsys):
    path = g.save(g.inception(), tmp_path)
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    assert migrate(path, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and "not truncated" in err


def test_parameter_count_is_checked_before_loading(tmp_path):
    from mm_train.migrate.onnx.load import load_model
    with pytest.raises(ConfigError, match="more than limits.max_params 100"):
        load_model(g.save(g.inception(), tmp_path), max_params=100)


def test_opset_outside_13_to_21_is_refused(tmp_path, capsys):
    path = g.save(g.model([g.node("Relu", ["x"], ["y"])], opset=11), tmp_path)
    assert migrate(path, tmp_path / "out") == 2
    assert "opset 11 (expected opset 13 to 21" in capsys.readouterr().err


@pytest.mark.slow
def test_converted_recipe_trains_with_ema_and_gradient_accumulation(tmp_path, monkeypatch):
    from mm_train.jobs import execute
    from training_helpers import compose, weights
    path = g.save(g.inception(), tmp_path / "src")
    assert migrate(path, tmp_path / "out", "incep_ema", "--no-parity") == 0
    monkeypatch.setenv("MM_TRAIN_RECIPE_PATH", str(tmp_path / "out"))
    config = compose("+dataset.train.limit=64", "dataset.train.batch_size=8", "+dataset.eval.limit=60",
                     "train.epochs=1", "train.ema_decay=0.9", "train.grad_accumulation=2",
                     "callbacks=[{type: ModelCheckpoint}]", recipe="incep_ema")
    execute(config, tmp_path / "run", "incep_ema")
    saved = weights(sorted((tmp_path / "run").rglob("*.ckpt"))[-1])
    before = weights(tmp_path / "out" / "incep_ema.ckpt")
    assert "ema.b2.1.weight" in saved and not np.array_equal(saved["b2.1.weight"], before["b2.1.weight"])


def test_assessment_for_another_device_says_it_is_not_verified_here(tmp_path, capsys):
    path = g.save(g.conv_bn_relu(), tmp_path / "src")
    assert migrate(path, tmp_path / "out", "net", "--device", "ascend", "--no-parity") == 0
    assessment = (tmp_path / "out" / "net.assessment.md").read_text()
    assert "| Conv | 1 | ConvBNAct" in assessment and "runs on ASCEND" in assessment
    assert "not verified here (this MindSpore build reports no ASCEND)" in assessment
