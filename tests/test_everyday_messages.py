"""The smaller frictions of everyday use, each with the exact message a user sees. In process."""
from __future__ import annotations

import pytest

from mm_train.config.composition import compose_recipe
from mm_train.core.errors import ConfigError
from mm_train.jobs import open_job


def error_of(*overrides: str, recipe: str = "quickstart") -> str:
    with pytest.raises(ConfigError) as err:
        open_job(recipe, list(overrides))
    return str(err.value)


def test_a_misspelt_optimizer_argument_gets_the_right_one_at_once():
    assert error_of("optimizer.nesterove=true") == (
        "optimizer.nesterove: not an argument of Momentum (expected one of ['clip_grad_norm', 'layer_decay', "
        "'momentum', 'nesterov', 'no_decay', 'param_groups', 'weight_decay']). Did you mean '+optimizer.nesterov=true'?")
    assert open_job("quickstart", ["+optimizer.nesterov=true"]).config["optimizer"]["nesterov"] is True   # pasted


def test_the_optimizers_expected_arguments_include_its_own_keys():
    assert error_of("+optimizer.foo=1") == (
        "optimizer.foo: unknown argument (expected one of ['clip_grad_norm', 'layer_decay', 'momentum', 'nesterov', "
        "'no_decay', 'param_groups', 'weight_decay'])")


@pytest.mark.parametrize("override", ["optimizer.lr=0.1", "+optimizer.lr=0.1"])
def test_a_learning_rate_given_to_the_optimizer_points_to_lr_schedule(override):
    assert error_of(override) == (
        "optimizer.lr: the learning rate is not an optimizer argument (expected it in lr_schedule: "
        "lr_schedule.lr_max=0.05, or 'lr_schedule={type: constant, lr: 0.05}' for a fixed rate)")


@pytest.mark.parametrize("value", ["1.5", "0"])
def test_epochs_say_whole_number_at_least_one_either_way(value):
    assert error_of(f"train.epochs={value}") == f"train.epochs: got {value} (expected a whole number >= 1)"


def test_an_unknown_lr_schedule_lists_the_valid_ones():
    assert error_of("lr_schedule.type=stepp") == (
        "lr_schedule.type: unknown lr schedule 'stepp' (expected one of ['constant', 'cosine', 'linear', 'multistep', "
        "'onecycle', 'poly', 'step', 'warmup_cosine', 'warmup_poly']). Did you mean 'step' or 'multistep'?")


def test_device_cuda_suggests_gpu():
    with pytest.raises(ConfigError) as err:
        compose_recipe("quickstart", ["device=cuda"])
    assert str(err.value).endswith("Did you mean 'gpu'?"), str(err.value)


def test_a_recipe_without_its_package_header_names_the_fix(tmp_path, monkeypatch):
    from helpers import ROOT
    text = (ROOT / "recipes" / "quickstart.yaml").read_text().replace("# @package _global_\n", "")
    (tmp_path / "headless.yaml").write_text(text)
    monkeypatch.setenv("MM_TRAIN_RECIPE_PATH", str(tmp_path))
    assert error_of(recipe="headless") == (
        "recipe: the recipe's keys ended up under 'recipe:' because its file does not start with "
        "'# @package _global_' (expected '# @package _global_' as the first line of the recipe file (also when a "
        "run directory's config.yaml is copied as a recipe))")


def test_a_run_directorys_config_yaml_runs_again_as_a_recipe(tmp_path, monkeypatch):
    from training_helpers import train
    train(tmp_path / "run", "train.epochs=1")
    (tmp_path / "again.yaml").write_text((tmp_path / "run" / "config.yaml").read_text())
    monkeypatch.setenv("MM_TRAIN_RECIPE_PATH", str(tmp_path))
    assert open_job("again", []).config["dataset"]["train"]["limit"] == 64


def test_blocks_ls_headings_and_defaults_read_as_a_recipe_writes_them(capsys):
    from mm_train.commands import main
    assert main(["blocks", "ls"]) == 0
    out = capsys.readouterr().out
    assert "losses:" in out and "lr schedules:" in out and "losss:" not in out and "lr schedules:" in out
    assert "<Border." not in out and "<Inter." not in out


def test_a_too_slow_ema_decay_is_warned_about():
    from mm_train.tasks.training import ema_note
    assert ema_note(0.999, 440) == (
        "warning: train.ema_decay=0.999 averages over about 1000 steps but this run has 440: the starting weights "
        "still weigh 64% in the average, so the evaluated (EMA) weights lag the trained ones. Use "
        "train.ema_decay=0.993 or less, or train longer")
    assert ema_note(0.99, 440) is None and ema_note(None, 440) is None
