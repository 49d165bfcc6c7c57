"""init_from (errors, new head), task=eval, task=export (MINDIR loaded back with nn.GraphCell), run directory."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from helpers import assert_user_error, run_main
from mm_train.core.errors import ConfigError
from training_helpers import SMALL, compose, train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A quickstart run (2 epochs) and its final checkpoint."""
    run_dir = tmp_path_factory.mktemp("trained")
    train(run_dir, "callbacks=[{type: ModelCheckpoint}]")
    return run_dir / "checkpoints" / "quickstart-2_4.ckpt"


def test_init_from_a_missing_file_fails_with_the_path(tmp_path):
    result = run_main("+recipe=quickstart", f"init_from={tmp_path}/missing.ckpt", f"hydra.run.dir={tmp_path}/r")
    assert_user_error(result, "init_from: checkpoint not found", "missing.ckpt")


def test_init_from_a_mismatched_checkpoint_lists_the_problems(trained, tmp_path):
    result = run_main("+recipe=quickstart", f"init_from={trained}", "network.layers.fc.out_channels=20",
                    "network.layers.conv2.out_channels=32", f"hydra.run.dir={tmp_path}/r")
    assert_user_error(result, f"init_from: {trained} does not fit the network",
                      "shape of fc.weight: checkpoint (10, 1024), network (20, 512)", "shape of fc.bias",
                      "shape of conv2.conv.weight", "allow_missing")


def test_init_from_missing_and_unexpected_keys(trained, tmp_path):
    from mm_train.assembly.init_from import load as load_weights
    from mm_train.nn.builder import build_network

    config = compose(*SMALL, "+network.layers.extra={type: Dense, out_channels: 3}")
    network, _ = build_network(config["network"])
    with pytest.raises(ConfigError, match=r"missing in checkpoint: extra.weight(.|\n)*missing in checkpoint: extra"):
        load_weights(network, str(trained))
    config = compose(*SMALL, "~network.layers.fc", "+network.layers.head={type: Dense, out_channels: 10}")
    network, _ = build_network(config["network"])
    with pytest.raises(ConfigError) as err:
        load_weights(network, str(trained))
    assert "not in network: fc.weight" in str(err.value) and "missing in checkpoint: head.bias" in str(err.value)


def test_init_from_allow_missing_keeps_a_new_classifier_head(trained, tmp_path, capsys):
    import mindspore as ms

    from mm_train.assembly.init_from import load as load_weights
    from mm_train.nn.builder import build_network

    network, _ = build_network(compose(*SMALL, "dataset.num_classes=4")["network"])
    fresh_head = network.fc.weight.asnumpy().copy()
    kept = load_weights(network, {"path": str(trained), "allow_missing": ["fc.*"]})
    assert kept == ["fc.bias", "fc.weight"]
    np.testing.assert_array_equal(network.fc.weight.asnumpy(), fresh_head)
    np.testing.assert_array_equal(network.conv1.conv.weight.asnumpy(),
                                  ms.load_checkpoint(str(trained))["conv1.conv.weight"].asnumpy())
    assert "kept as built: fc.bias, fc.weight" in capsys.readouterr().out
    with pytest.raises(ConfigError, match=r"init_from.allow_mising: unknown key.*'allow_missing'"):
        load_weights(network, {"path": str(trained), "allow_mising": ["fc.*"]})


def test_task_eval_writes_metrics_json(trained, tmp_path):
    from mm_train.jobs import execute
    acc = execute(compose(*SMALL, "task=eval", f"init_from={trained}"), tmp_path, "quickstart")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["final"]["acc"] == pytest.approx(acc) and acc > 0.2
    with pytest.raises(ConfigError, match="init_from: task=eval needs weights"):
        execute(compose(*SMALL, "task=eval"), tmp_path, "quickstart")


def test_export_mindir_loads_with_graphcell_and_gives_the_network_outputs(trained, tmp_path):
    import mindspore as ms
    from mindspore import nn

    from mm_train.assembly.init_from import load as load_weights
    from mm_train.nn.builder import build_network
    from mm_train.jobs import execute

    execute(compose(*SMALL, "task=export", f"init_from={trained}", "export.batch_size=4"), tmp_path, "quickstart")
    path = tmp_path / "model.mindir"
    assert path.is_file()
    graph = nn.GraphCell(ms.load(str(path)))
    network, _ = build_network(compose(*SMALL)["network"])
    load_weights(network, str(trained))
    network.set_train(False)
    x = ms.Tensor(np.random.default_rng(0).random((4, 3, 8, 8), dtype=np.float32))
    np.testing.assert_allclose(graph(x).asnumpy(), network(x).asnumpy(), rtol=1e-5, atol=1e-5)


def test_export_formats_the_device_cannot_write_are_user_errors(trained, tmp_path):
    result = run_main("+recipe=quickstart", "task=export", f"init_from={trained}", "export.format=AIR",
                    f"hydra.run.dir={tmp_path}/r")
    assert_user_error(result, "export.format: AIR files are written only on Ascend")
    result = run_main("+recipe=quickstart", "task=export", f"init_from={trained}", "export.format=TFLITE",
                    f"hydra.run.dir={tmp_path}/r")
    assert_user_error(result, "export.format: unknown format 'TFLITE'")
    result = run_main("+recipe=quickstart", "task=export", f"hydra.run.dir={tmp_path}/r")
    assert_user_error(result, "init_from: task=export needs weights")


def test_onnx_export_writes_a_file(trained, tmp_path):
    """MindSpore 2.10 on CPU writes ONNX for this network (other builds may refuse: a ConfigError then)."""
    from mm_train.jobs import execute
    execute(compose(*SMALL, "task=export", f"init_from={trained}", "export.format=onnx"), tmp_path, "quickstart")
    data = (tmp_path / "model.onnx").read_bytes()
    assert len(data) > 1000 and b"conv1.conv.weight" in data


def test_run_directory_records_config_overrides_commit_and_versions(tmp_path):
    run_dir = tmp_path / "run"
    result = run_main("+recipe=quickstart", "seed=123", "train.epochs=1", "+dataset.train.limit=32",
                    "+dataset.eval.limit=32", "callbacks=[]", f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr[-2000:]
    info = json.loads((run_dir / "run_info.json").read_text())
    assert info["seed"] == 123 and info["recipe"] == "quickstart"
    assert {"seed=123", "train.epochs=1", "+dataset.train.limit=32", "callbacks=[]"} <= set(info["overrides"])
    assert re.fullmatch(r"[0-9a-f]{40}", info["git_commit"])
    assert all(info["versions"][p] for p in ("mindspore", "hydra-core", "numpy"))
    config = (run_dir / "config.yaml").read_text()
    assert "${" not in config and "seed: 123" in config and "epochs: 1" in config


def test_the_same_seed_gives_the_same_weights(tmp_path):
    from training_helpers import weights
    runs = {}
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        train(tmp_path / name, f"seed={seed}", "train.epochs=1", "callbacks=[{type: ModelCheckpoint}]")
        runs[name] = weights(tmp_path / name / "checkpoints" / "quickstart-1_4.ckpt")
    np.testing.assert_array_equal(runs["a"]["fc.weight"], runs["b"]["fc.weight"])
    assert not np.allclose(runs["a"]["fc.weight"], runs["c"]["fc.weight"])
