"""User errors from ``python run.py``: one clear message, exit code 2, no traceback.

One table of commands and the text their message must hold (as Hydra's tests/test_hydra_cli_errors.py).
A ``{tmp}`` in an override is the test's temp dir; ``recipe_files`` are written into ``{tmp}/recipes``,
which is then on MM_TRAIN_RECIPE_PATH.
"""
import pytest

from helpers import assert_user_error, run_py

TYPO_RECIPE = "# @package _global_\ndefaults:\n  - quickstart\n  - _self_\ntrain:\n  epochz: 3\n"

CASES = [
    pytest.param([], {}, ["no recipe chosen", "+recipe=NAME", "quickstart", "resnet50_cifar"], id="no-recipe"),
    pytest.param(["+recipe=quickstrat"], {}, ["no recipe named 'quickstrat'", "Did you mean 'quickstart'?"],
                 id="unknown-recipe"),
    pytest.param(["+recipe=quickstart", "network.layers.conv1.type=ConvBNRelu"], {},
                 ["network.layers.conv1.type: unknown block 'ConvBNRelu'", "Did you mean 'ConvBNReLU'"],
                 id="unknown-block"),
    pytest.param(["+recipe=quickstart", "trian.epochs=3"], {}, ["trian: unknown key", "Did you mean 'train'?"],
                 id="unknown-top-level-key"),
    pytest.param(["+recipe=quickstart", "+optimiser.lr=3"], {},
                 ["optimiser: unknown top-level key", "Did you mean 'optimizer'"], id="unknown-key-added-with-plus"),
    pytest.param(["+recipe=typo"], {"typo.yaml": TYPO_RECIPE},
                 ["train.epochz: unknown key", "Did you mean 'epochs'?"], id="unknown-key-in-a-recipe-file"),
    pytest.param(["+recipe=quickstart", "device=ascend"], {},
                 ["device: this MindSpore build cannot run on Ascend", "CPU"], id="device-this-build-lacks"),
    pytest.param(["+recipe=quickstart", "device=cpuu"], {}, ["no device named 'cpuu'", "Did you mean 'cpu'"],
                 id="unknown-device-option"),
]


@pytest.mark.parametrize("overrides, recipe_files, fragments", CASES)
def test_run_py_reports_user_errors(overrides, recipe_files, fragments, tmp_path):
    env = {}
    if recipe_files:
        folder = tmp_path / "recipes"
        folder.mkdir()
        for name, text in recipe_files.items():
            (folder / name).write_text(text)
        env["MM_TRAIN_RECIPE_PATH"] = str(folder)
    run_dir = tmp_path / "run"
    if overrides:
        overrides = [*overrides, f"hydra.run.dir={run_dir}"]
    assert_user_error(run_py(*overrides, env=env), *fragments)
    assert not (run_dir / "metrics.json").exists()
