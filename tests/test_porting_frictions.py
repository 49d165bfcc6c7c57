"""Frictions met porting published recipes: worker counts, per-type defaults, nested errors, other targets."""
from __future__ import annotations

import json

import pytest

import training_helpers
from mm_train.commands import main as cli_main
from mm_train.core.errors import ConfigError
from mm_train.jobs import prepare
from mm_train.nn.builder import build_network


def test_more_workers_than_cores_runs_with_the_cores_and_one_note(tmp_path, capsys):
    from mm_train.data.workers import available_cores
    training_helpers.train(tmp_path, "train.epochs=1", "+dataset.train.num_parallel_workers=64",
                           "+dataset.eval.num_parallel_workers=64")
    out = capsys.readouterr().out
    assert out.count("note: num_parallel_workers 64 is more than") <= 1 and "using" in out
    info = json.loads((tmp_path / "run_info.json").read_text())
    assert info["data_workers"]["train"] == available_cores()
    prepare(training_helpers.compose("+dataset.train.num_parallel_workers=64"))     # validation agrees


def test_network_defaults_reach_every_block_of_the_type_unless_it_says_otherwise():
    config = training_helpers.compose("+network.defaults={ConvBNReLU: {momentum: 0.5, eps: 0.001}}",
                                      "+network.layers.conv2.momentum=0.7")
    prepare(config)
    network, _ = build_network(config["network"])
    bns = {name: cell for name, cell in network.cells_and_names() if type(cell).__name__ == "BatchNorm2d"}
    momenta = sorted(round(float(cell.momentum), 3) for cell in bns.values())
    assert len(bns) == 2 and momenta == [0.3, 0.5]           # MindSpore keeps 1 - momentum for BatchNorm2d
    assert all(abs(float(cell.eps) - 0.001) < 1e-9 for cell in bns.values())


def test_network_defaults_mistakes_are_found_by_validation():
    config = training_helpers.compose("+network.defaults={ConvBNRelu: {momentum: 0.5}, Dense: {momentun: 0.5}}")
    with pytest.raises(ConfigError) as err:
        prepare(config)
    assert "network.defaults.ConvBNRelu: unknown block type" in str(err.value) and "'ConvBNReLU'" in str(err.value)
    assert "network.defaults.Dense.momentun: unknown argument" in str(err.value)


def test_errors_inside_nested_blocks_are_found_by_validation_with_their_path():
    block = "network.layers.encoder.layers.layers.block"
    for override, message in ((f"+{block}.drop_path=2", f"{block}.drop_path: got 2 (expected a drop probability"),
                              (f"+{block}.dropuot=0.1", f"{block}.dropuot: unknown argument"),
                              ("+network.layers.encoder.layers.ln.epss=1", "network.layers.encoder.layers.ln.epss")):
        with pytest.raises(ConfigError) as err:
            prepare(training_helpers.compose(override, recipe="vit_digits"))
        assert message in str(err.value) and "[0]" not in str(err.value)


def test_recipes_validate_checks_another_target_without_running_on_it(capsys):
    assert cli_main(["recipes", "validate", "quickstart", "--device", "gpu"]) == 0
    assert "ok      quickstart (checked for gpu)" in capsys.readouterr().out
    dynamic = "loss_scale.type=dynamic"
    assert cli_main(["recipes", "validate", "quickstart", "--device", "gpu", "--override", dynamic]) == 0
    assert cli_main(["recipes", "validate", "quickstart", "--override", dynamic]) == 1     # on this CPU: refused
    assert "loss_scale" in capsys.readouterr().out
