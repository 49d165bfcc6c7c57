"""Hydra workflows: validation, no code from recipes, sweeps and their report, Optuna,
team recipe folders, mm-train recipes, debug modes."""
import csv
import json
import sys

import pytest

from helpers import ROOT, assert_user_error, cli_main, read_metrics, run_main

TEAM_RECIPE = """# @package _global_
# The quickstart with a wider first layer (team A).
defaults:
  - /recipe/quickstart@_here_
  - _self_
network:
  layers:
    conv1: {type: ConvBNReLU, out_channels: 48, kernel_size: 3}
train: {epochs: 1}
"""
# 64 digits, 2 steps an epoch: the workflows below are checked, not the accuracy they reach
LIMITED = ("+dataset.train.limit=64", "+dataset.eval.limit=64")


def test_two_errors_in_one_recipe_are_reported_together(tmp_path):
    (tmp_path / "two_typos.yaml").write_text(
        "# @package _global_\ndefaults:\n  - quickstart\n  - _self_\n"
        "optimizer: {type: Momentun, momentum: 0.9}\n"
        "network: {layers: {fc: {type: Dense, out_chanels: 10}}}\n")
    result = run_main("+recipe=two_typos", env={"MM_TRAIN_RECIPE_PATH": str(tmp_path)})
    assert_user_error(result, "2 problems", "optimizer.type: unknown optimizer 'Momentun'", "Did you mean 'Momentum'",
                      "network.layers.fc.out_chanels: unknown argument", "Did you mean 'out_channels'")


def test_misspelled_nested_key_on_the_command_line():
    result = run_main("+recipe=quickstart", "lr_schedule.lr_maxx=0.2")
    assert_user_error(result, "lr_schedule.lr_maxx: unknown key", "Did you mean 'lr_max'")


def test_wrong_type_and_out_of_range_values():
    result = run_main("+recipe=quickstart", "train.epochs=-1", "device.device_id=abc")
    assert_user_error(result, "train.epochs: got -1 (expected a whole number >= 1)", "device.device_id: got 'abc'")


def test_loss_scale_against_device_before_building():
    result = run_main("+recipe=quickstart", "loss_scale.type=dynamic")
    assert_user_error(result, "loss_scale.type: dynamic loss scale is not supported by MindSpore on CPU")


def test_batch_larger_than_limited_data_with_drop_remainder():
    result = run_main("+recipe=quickstart", "+dataset.train.limit=10")
    assert_user_error(result, "dataset.train.batch_size: batch size 32 is larger than limit 10 with drop_remainder")


def test_target_in_a_recipe_is_rejected_before_anything_runs(tmp_path):
    marker = tmp_path / "pwned"
    (tmp_path / "evil.yaml").write_text(
        "# @package _global_\ndefaults:\n  - quickstart\n  - _self_\n"
        f"loss: {{_target_: os.system, _args_: ['touch {marker}']}}\n")
    result = run_main("+recipe=evil", f"hydra.run.dir={tmp_path / 'run'}", env={"MM_TRAIN_RECIPE_PATH": str(tmp_path)})
    assert_user_error(result, "loss._target_: '_target_' is not allowed: recipes cannot import or run code")
    assert not marker.exists()
    assert not (tmp_path / "run" / "config.yaml").exists()


def test_import_path_as_a_type_is_rejected():
    result = run_main("+recipe=quickstart", "loss.type=mindspore.nn.MSELoss")
    assert_user_error(result, "loss.type: 'mindspore.nn.MSELoss' looks like an import path")


@pytest.mark.slow   # four jobs, each a whole Hydra job that trains
def test_sweep_2x2_and_its_report(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_main("-m", "+recipe=quickstart", "lr_schedule.lr_max=0.1,0.05", "optimizer.momentum=0.9,0.8",
                    "train.epochs=1", *LIMITED, f"hydra.sweep.dir={sweep}")
    assert result.returncode == 0, result.stderr
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert [p.name for p in jobs] == ["0", "1", "2", "3"]
    accuracies = {p.name: read_metrics(p)["final"]["acc"] for p in jobs}

    report = cli_main("sweep", "report", str(sweep))
    assert report.returncode == 0, report.stderr
    lines = report.stdout.splitlines()
    assert lines[0].split() == ["job", "lr_schedule.lr_max", "optimizer.momentum", "acc", "loss", "status"]
    with open(sweep / "report.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["job"]: float(r["acc"]) for r in rows} == pytest.approx(accuracies, rel=1e-5)
    assert [float(r["acc"]) for r in rows] == sorted((float(r["acc"]) for r in rows), reverse=True)
    assert {(r["lr_schedule.lr_max"], r["optimizer.momentum"]) for r in rows} == {
        ("0.1", "0.9"), ("0.1", "0.8"), ("0.05", "0.9"), ("0.05", "0.8")}
    assert (sweep / "report.md").read_text().count("\n") == 6
    assert (sweep / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow   # three trials, each a whole Hydra job that trains, and the Optuna study
def test_optuna_search_three_trials(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="the optuna extra is not installed")
    result = run_main("-m", "+recipe=quickstart", "hparams_search=quickstart_optuna", "hydra.sweeper.n_trials=3",
                    "train.epochs=1", *LIMITED, f"hydra.sweep.dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    assert "setup plugin alembic" not in result.stdout + result.stderr    # optuna's import noise is off
    best = (tmp_path / "optimization_results.yaml").read_text()
    assert "best_params" in best and "lr_schedule.lr_max" in best
    values = [read_metrics(tmp_path / str(i))["final"]["acc"] for i in range(3)]
    assert f"best_value: {max(values)}" in best


def test_team_recipe_folder_inheriting_a_builtin(tmp_path):
    team = tmp_path / "recipes" / "team_a"
    team.mkdir(parents=True)
    (team / "quickstart_wide.yaml").write_text(TEAM_RECIPE)
    env = {"MM_TRAIN_RECIPE_PATH": str(tmp_path / "recipes")}
    listing = cli_main("recipes", "ls", env=env)
    line = next(line for line in listing.stdout.splitlines() if line.startswith("team_a/quickstart_wide"))
    assert str(tmp_path / "recipes") in line and "wider first layer" in line
    result = run_main("+recipe=team_a/quickstart_wide", *LIMITED, f"hydra.run.dir={tmp_path / 'run'}", env=env)
    assert result.returncode == 0, result.stderr
    assert "out_channels: 48" in (tmp_path / "run" / "config.yaml").read_text()
    assert read_metrics(tmp_path / "run")["history"][0]["epoch"] == 1


def test_a_shadowing_recipe_is_reported(tmp_path):
    (tmp_path / "quickstart.yaml").write_text("# @package _global_\n# my own quickstart\n")
    listing = cli_main("recipes", "ls", env={"MM_TRAIN_RECIPE_PATH": str(tmp_path)})
    assert f"from {tmp_path / 'quickstart.yaml'} shadows {ROOT / 'recipes' / 'quickstart.yaml'}" in listing.stderr
    assert "my own quickstart" in listing.stdout


def test_recipes_show_and_cp(tmp_path):
    shown = cli_main("recipes", "show", "quickstart", "train.epochs=3")
    assert shown.returncode == 0, shown.stderr
    assert "epochs: 3" in shown.stdout and "${" not in shown.stdout
    copied = cli_main("recipes", "cp", "quickstart", str(tmp_path) + "/")
    assert copied.returncode == 0 and (tmp_path / "quickstart.yaml").is_file()
    again = cli_main("recipes", "cp", "quickstart", str(tmp_path) + "/")
    assert again.returncode == 2 and "exists" in again.stderr
    assert_user_error(cli_main("recipes", "show", "quickstrt"), "no recipe named 'quickstrt'",
                      "Did you mean 'quickstart'")


@pytest.mark.parametrize("command", [["recipes", "ls"], ["recipes", "show"], ["recipes", "cp"],
                                     ["recipes", "validate"], ["blocks", "ls"], ["sweep", "report"]])
def test_every_subcommand_has_help_with_an_example(command):
    result = cli_main(*command, "--help")
    assert result.returncode == 0 and "example:" in result.stdout and "mm-train " + command[0] in result.stdout


@pytest.mark.slow   # builds every shipped network, ViT-B/16 and ResNet-152 among them
def test_recipes_validate_every_shipped_recipe():
    result = cli_main("recipes", "validate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 failed" in result.stdout and "ok      quickstart" in result.stdout
    assert "ok      published/timm_resnet50_a3\n" in result.stdout   # the published ports on CPU too


def test_recipes_validate_fails_on_a_broken_recipe(tmp_path):
    (tmp_path / "broken.yaml").write_text("# @package _global_\ndefaults:\n  - quickstart\n  - _self_\n"
                                          "network: {layers: {flatten: null, fc: {type: Dense, out_channels: 10}}}\n")
    result = cli_main("recipes", "validate", "broken", "quickstart", env={"MM_TRAIN_RECIPE_PATH": str(tmp_path)})
    assert result.returncode == 1
    assert "FAILED  broken" in result.stdout and "ok      quickstart" in result.stdout
    assert "1 passed, 1 failed" in result.stdout


def test_recipes_validate_builds_batch_transforms_without_reading_data(tmp_path):
    (tmp_path / "mixup.yaml").write_text("# @package _global_\ndefaults:\n  - quickstart\n  - _self_\n"
                                         "dataset: {one_hot: true, train: {batch_transforms: "
                                         "[{type: MixUpBatch, alpha: -1.0}]}}\n")
    result = cli_main("recipes", "validate", "mixup", env={"MM_TRAIN_RECIPE_PATH": str(tmp_path)})
    assert result.returncode == 1
    assert "FAILED  mixup" in result.stdout
    assert "dataset.train.batch_transforms" in result.stdout and "alpha must be greater than 0" in result.stdout


def test_debug_overfit_drives_the_loss_down(tmp_path):
    result = run_main("+recipe=quickstart", "debug=overfit", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    assert "the network can learn" in result.stdout
    history = read_metrics(tmp_path)["history"]
    assert history[-1]["loss"] < 0.05 < history[0]["loss"]


def test_debug_overfit_reports_a_network_that_cannot_learn(tmp_path):
    result = run_main("+recipe=quickstart", "debug=overfit", "debug.epochs=3", "lr_schedule.lr_max=0",
                    "lr_schedule.lr_init=0", f"hydra.run.dir={tmp_path}")   # no step moves: 3 epochs show it
    assert result.returncode == 1
    assert "the network cannot learn" in result.stderr and "Traceback" not in result.stderr


def test_debug_fast_and_small_limit_the_run(tmp_path):
    fast = run_main("+recipe=quickstart", "debug=fast", f"hydra.run.dir={tmp_path / 'fast'}")
    assert fast.returncode == 0, fast.stderr
    assert read_metrics(tmp_path / "fast")["history"] == [pytest.approx(
        {"epoch": 1, "step": 4, **read_metrics(tmp_path / "fast")["final"]})]
    assert "debug=fast: the whole job ran (4 training steps, evaluation, checkpoints)" in fast.stdout
    assert "mean nothing yet. Next: debug=overfit" in fast.stdout
    small = run_main("+recipe=quickstart", "debug=small", "train.epochs=1", f"hydra.run.dir={tmp_path / 'small'}")
    assert small.returncode == 0, small.stderr
    assert read_metrics(tmp_path / "small")["history"][0]["step"] == 512 // 32
    resolved = (tmp_path / "small" / "config.yaml").read_text()
    assert "type: fixed" in resolved and "limit: 512" in resolved
