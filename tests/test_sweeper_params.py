"""A recipe's hydra.sweeper.params are recipe keys with plain values: never hydra.*, never a +/~ override,
never a config group; refused by run.py -m and recipes validate with exit 2, nothing written outside."""
from __future__ import annotations

import os

import pytest

from mm_train.__main__ import main as run_main
from mm_train.config.boundary import check_name
from mm_train.commands import main as cli_main
from mm_train.config.sweep_params import params_errors

HEAD = "# @package _global_\ndefaults:\n  - quickstart\n  - _self_\n"
# the reproduction: a FileHandler that writes a chosen line into a shell rc file, and a job dir elsewhere
SMUGGLE = """hydra:
  sweeper:
    params:
      ++hydra.job_logging.formatters.chosen.format: "'touch PWNED'"
      ++hydra.job_logging.handlers.probe.class: logging.FileHandler
      ++hydra.job_logging.handlers.probe.formatter: chosen
      ++hydra.job_logging.handlers.probe.filename: RCFILE
      ++hydra.job_logging.root.handlers: "[probe]"
      hydra.sweep.subdir: ELSEWHERE
      seed: choice(1, 2)
"""


def tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def world(tmp_path, monkeypatch):
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("MM_TRAIN_RECIPE_PATH", str(recipes))
    monkeypatch.chdir(tmp_path)
    return tmp_path, recipes


def _exit(argv, capsys, runner=run_main):
    with pytest.raises(SystemExit) as exit_info:
        runner(argv)
    return exit_info.value.code, capsys.readouterr()


def test_sweeper_params_cannot_set_hydra_logging_or_the_job_dir(world, capsys):
    root, recipes = world
    rc, elsewhere = root / "home" / ".bashrc", root / "elsewhere"
    (recipes / "smuggle.yaml").write_text(HEAD + SMUGGLE.replace("RCFILE", str(rc)).replace("ELSEWHERE", str(elsewhere)))
    before = tree(root)
    code, out = _exit(["-m", "+recipe=smuggle", f"hydra.sweep.dir={root / 'sweep'}"], capsys)
    assert code == 2 and "Traceback" not in out.err
    assert "hydra.sweeper.params.++hydra.job_logging.handlers.probe.class" in out.err
    assert "hydra.sweeper.params.hydra.sweep.subdir: a recipe's sweep cannot set Hydra's settings" in out.err
    assert str(recipes / "smuggle.yaml") in out.err
    assert tree(root) == before and not rc.exists() and not elsewhere.exists()
    assert cli_main(["recipes", "validate", "smuggle"]) == 1
    out = capsys.readouterr()
    assert "FAILED  smuggle" in out.out and "hydra.sweeper.params.hydra.sweep.subdir" in out.out
    assert tree(root) == before


@pytest.mark.parametrize("key, value, fragment", [
    ("+train.extra", "choice(1, 2)", "adds or deletes a key"),
    ("~optimizer", "choice(1, 2)", "adds or deletes a key"),
    ("device", "choice(cpu, gpu)", "selects a config group"),
    ("hparams_search", "quickstart_optuna", "selects a config group"),
    ("hydra/launcher", "basic", "is not a plain key path"),
    ("optimizer.lr@hydra", "0.1", "is not a plain key path"),
    ("paths.data", "choice('${oc.env:HOME}')", "got '${oc.env:HOME}'"),
    ("optimizer.lr", "choice({_target_: os.system}, 1)", "got {'_target_': 'os.system'}"),
    ("train.epochs", "glob(*)", "got 'glob(*)'"),
    ("recipe", "choice(quickstart, ../outside/x)", "leaves the recipe folders"),
    ("trian.epochs", "choice(1, 2)", "Did you mean 'train'"),
])
def test_each_smuggled_sweep_parameter_is_named(key, value, fragment):
    errors = params_errors({key: value}, "r.yaml", check_name)
    assert len(errors) == 1, errors
    assert str(errors[0]).startswith(f"hydra.sweeper.params.{key}") and fragment in str(errors[0]), str(errors[0])


def test_plain_sweep_spaces_are_allowed():
    assert params_errors({"optimizer.lr": "choice(0.1, 0.05)", "train.epochs": "range(1, 4)",
                          "lr_schedule.lr_max": "interval(0.01, 0.3)", "seed": "1,2,3", "train.amp_level": "O2",
                          "dataset.train.batch_size": 16, "callbacks.2.keep_checkpoint_max": "choice(1, 2)",
                          "recipe": "choice(quickstart, lenet_digits)"}, "r.yaml", check_name) == []


def test_sweep_settings_are_typed(world, capsys):
    root, recipes = world
    (recipes / "trials.yaml").write_text(HEAD + "hydra:\n  sweeper:\n    n_trials: 1e12\n    direction: up\n"
                                         "    params: 'seed=1'\n")
    code, out = _exit(["+recipe=trials"], capsys)
    assert code == 2
    for fragment in ("hydra.sweeper.n_trials: got 1000000000000.0", "hydra.sweeper.direction: got 'up'",
                     "hydra.sweeper.params: got 'seed=1'"):
        assert fragment in out.err


def test_the_hydra_core_floor_has_the_instantiate_blocklist():
    from pathlib import Path
    text = (Path(__file__).resolve().parent.parent / "setup.cfg").read_text()
    assert "hydra-core>=1.3.8,<1.4" in text
