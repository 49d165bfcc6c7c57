"""User errors from ``python run.py``: one clear message, exit code 2, no traceback."""
from helpers import assert_user_error, run_py


def test_no_recipe_lists_the_recipes():
    result = run_py()
    assert_user_error(result, "no recipe chosen", "+recipe=NAME", "quickstart", "resnet50_cifar")


def test_unknown_recipe_suggests_the_nearest():
    assert_user_error(run_py("+recipe=quickstrat"), "no recipe named 'quickstrat'", "Did you mean 'quickstart'?")


def test_unknown_block_name(tmp_path):
    result = run_py("+recipe=quickstart", "network.layers.conv1.type=ConvBNRelu", f"hydra.run.dir={tmp_path}")
    assert_user_error(result, "network.layers.conv1.type: unknown block 'ConvBNRelu'", "Did you mean 'ConvBNReLU'")


def test_unknown_top_level_key_in_an_override(tmp_path):
    result = run_py("+recipe=quickstart", "trian.epochs=3", f"hydra.run.dir={tmp_path}")
    assert_user_error(result, "trian: unknown key", "Did you mean 'train'?")


def test_unknown_top_level_key_added_with_plus(tmp_path):
    result = run_py("+recipe=quickstart", "+optimiser.lr=3", f"hydra.run.dir={tmp_path}")
    assert_user_error(result, "optimiser: unknown top-level key", "Did you mean 'optimizer'")


def test_unknown_key_in_a_recipe_file(tmp_path):
    (tmp_path / "typo.yaml").write_text("# @package _global_\ndefaults:\n  - quickstart\n  - _self_\n"
                                        "train:\n  epochz: 3\n")
    result = run_py("+recipe=typo", f"hydra.run.dir={tmp_path / 'run'}", env={"MM_TRAIN_RECIPE_PATH": str(tmp_path)})
    assert_user_error(result, "train.epochz: unknown key", "Did you mean 'epochs'?")


def test_device_this_build_lacks(tmp_path):
    result = run_py("+recipe=quickstart", "device=ascend", f"hydra.run.dir={tmp_path}")
    assert_user_error(result, "device: this MindSpore build cannot run on Ascend", "CPU")
    assert not (tmp_path / "metrics.json").exists()


def test_unknown_device_option_suggests_the_nearest(tmp_path):
    assert_user_error(run_py("+recipe=quickstart", "device=cpuu"), "no device named 'cpuu'", "Did you mean 'cpu'")
