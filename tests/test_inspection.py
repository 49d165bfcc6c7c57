"""task=summary (no data read) and task=check (operator assessment), as a user runs them."""
from __future__ import annotations

import re

import pytest

from helpers import assert_user_error, run_main


def _table_row(output: str, name: str) -> list[str]:
    line = next(line for line in output.splitlines() if line.startswith(name + " "))
    return re.split(r"\s{2,}", line.strip())


@pytest.mark.parametrize("recipe, rows, total", [
    ("resnet50_cifar", {"conv1": ["Conv2d", "(64, 112, 112)", "9,408"],
                        "layer1": ["Stage", "(256, 56, 56)", "215,808"],
                        "layer4": ["Stage", "(2048, 7, 7)", "14,964,736"],
                        "end_point": ["Dense", "(10,)", "20,490"]}, "23,528,522"),
    ("lenet_digits", {"conv1": ["Conv2d", "(6, 28, 28)", "150"], "pool2": ["MaxPool2d", "(16, 5, 5)", "0"],
                      "flatten": ["Flatten", "(400,)", "0"], "fc1": ["Dense", "(120,)", "48,120"],
                      "fc3": ["Dense", "(10,)", "850"]}, "61,684"),
])
def test_summary_prints_layers_and_total_without_data(recipe, rows, total, tmp_path):
    missing = tmp_path / "no-data-here"
    result = run_main(f"+recipe={recipe}", "task=summary", f"paths.data={missing}",
                    f"paths.bundled={missing}", f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.rstrip().splitlines()[-1] == f"Total params: {total}"
    for name, cells in rows.items():
        assert _table_row(result.stdout, name) == [name, *cells]
    assert not missing.exists()
    assert (tmp_path / "run" / "summary.txt").read_text().rstrip().endswith(f"Total params: {total}")


@pytest.mark.slow
@pytest.mark.parametrize("recipe, overrides, parts", [
    ("lenet_digits", [], ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3", "fc2",
                          "relu4", "fc3", "network", "train step"]),
    ("resnet18_cifar", ["dataset.image_size=32"], ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3",
                                                   "layer4", "pool", "end_point", "network", "train step"]),
])
def test_check_passes_on_cpu(recipe, overrides, parts, tmp_path):
    result = run_main(f"+recipe={recipe}", "task=check", *overrides, f"paths.data={tmp_path / 'none'}",
                    f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for part in parts:
        cells = _table_row(result.stdout, part)
        assert cells[2] == "OK" and cells[3].startswith("compiled and ran"), cells
    assert f"check passed: all {len(parts)} parts compiled and ran on CPU (graph mode)" in result.stdout
    assert "random batch (2, " in result.stdout


BROKEN = """# @package _global_
# LeNet with an InstanceNorm2d, which MindSpore has no CPU kernel for
defaults:
  - lenet_digits
  - _self_
network:
  layers:
    relu1: {type: InstanceNorm2d}
"""


@pytest.mark.slow
def test_check_names_the_failing_block_with_mindspores_message(tmp_path):
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "broken_lenet.yaml").write_text(BROKEN)
    result = run_main("+recipe=broken_lenet", "task=check", f"hydra.run.dir={tmp_path / 'run'}",
                    env={"MM_TRAIN_RECIPE_PATH": str(tmp_path / "recipes")})
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    cells = _table_row(result.stdout, "relu1")
    assert cells[:3] == ["relu1", "InstanceNorm2d", "FAILED"]
    assert "Unsupported op [InstanceNorm] on CPU" in cells[3]
    for ok in ("conv1", "pool1", "conv2", "fc3"):
        assert _table_row(result.stdout, ok)[2] == "OK"
    assert "check FAILED: 3 of 14 parts did not run on CPU (graph mode): relu1, network, train step" in result.stdout


def test_mindspore_message_keeps_the_user_facing_part():
    from mm_train.tasks.inspection import mindspore_message
    err = RuntimeError("\n----------------------------------------------------\n- Kernel select failed:\n"
                       "----------------------------------------------------\nUnsupported op [X] on CPU.\n\n"
                       "----------------------------------------------------\n- C++ Call Stack: (For framework "
                       "developers)\n----------------------------------------------------\nfile.cc:469 Set")
    assert mindspore_message(err) == "RuntimeError: Kernel select failed: Unsupported op [X] on CPU."


def test_config_yaml_of_a_python_config_loads_back_to_the_config_run(tmp_path):
    """``execute`` called from Python (tuples allowed) writes RUN_DIR/config.yaml that reads back equal."""
    import yaml

    from training_helpers import compose
    from mm_train.jobs import execute

    config = compose("task=summary")
    config["network"]["input_shape"] = tuple(config["network"]["input_shape"])
    execute(config, tmp_path, "quickstart")
    written = yaml.safe_load((tmp_path / "config.yaml").read_text(encoding="utf-8"))
    assert written["network"]["input_shape"] == list(config["network"]["input_shape"])
    assert written["network"] == {**config["network"], "input_shape": list(config["network"]["input_shape"])}
    assert list(written) == [k for k in config if k in written]   # the config's own key order
    assert written["task"] == "summary" and (tmp_path / "summary.txt").is_file()


def test_training_a_layer_the_device_lacks_is_one_message_naming_the_check(tmp_path):
    """Not MindSpore's traceback: the first step's compile failure, with the command that names the layer."""
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "broken_lenet.yaml").write_text(BROKEN)
    result = run_main("+recipe=broken_lenet", "debug=fast", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path,
                    env={"MM_TRAIN_RECIPE_PATH": str(tmp_path / "recipes")})
    assert_user_error(result, "network: MindSpore could not compile or run the training step on CPU (graph mode)",
                      "Unsupported op [InstanceNorm] on CPU",
                      "python run.py +recipe=broken_lenet task=check runs each layer alone")
    assert not list(tmp_path.glob("rank_*")) and not list(tmp_path.glob("*.ir"))   # nothing outside the run dir
