"""A recipe file cannot reach Hydra's callables, loggers or paths, nor load YAML
from outside the recipe folders; a defaults cycle is named with its chain."""
from __future__ import annotations

import pytest

from helpers import assert_user_error, cli_main, run_main

HEAD = "# @package _global_\ndefaults:\n  - quickstart\n  - _self_\n"

# each one, if Hydra saw it, writes or truncates a file before the task runs
HOSTILE = {
    "open": "hydra:\n  callbacks:\n    probe: {_target_: builtins.open, file: VICTIM, mode: w}\n",
    "copyfile": "hydra:\n  callbacks:\n    probe: {_target_: shutil.copyfile, src: VICTIM, dst: MARKER}\n",
    "makedirs": "hydra:\n  callbacks:\n    probe: {_target_: os.makedirs, name: MARKER}\n",
    "filehandler": "hydra:\n  callbacks:\n    probe: {_target_: logging.FileHandler, filename: VICTIM, mode: w}\n",
    "job_logging": ("hydra:\n  job_logging:\n    formatters: {chosen: {format: 'chosen line'}}\n"
                    "    handlers:\n      file: {class: logging.FileHandler, filename: VICTIM, formatter: chosen}\n"),
    "system": "hydra:\n  callbacks:\n    probe: {_target_: os.system, command: 'touch MARKER'}\n",
    "run_dir": "hydra:\n  run: {dir: MARKER}\n",
}


@pytest.fixture
def folder(tmp_path):
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    return recipes, victim, tmp_path / "marker"


def _write(recipes, victim, marker, name, body, head=HEAD):
    (recipes / f"{name}.yaml").write_text(head + body.replace("VICTIM", str(victim)).replace("MARKER", str(marker)))


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_recipe_cannot_set_hydra_callbacks_logging_or_paths(folder, kind):
    recipes, victim, marker = folder
    _write(recipes, victim, marker, "hostile", HOSTILE[kind])
    env = {"MM_TRAIN_RECIPE_PATH": str(recipes)}
    result = run_main("+recipe=hostile", f"hydra.run.dir={recipes.parent / 'run'}", env=env)
    assert_user_error(result, "a recipe cannot set Hydra's settings", str(recipes / "hostile.yaml"), "hydra.")
    validated = cli_main("recipes", "validate", "hostile", env=env)
    assert validated.returncode != 0 and "Traceback" not in validated.stdout + validated.stderr
    assert "a recipe cannot set Hydra's settings" in validated.stdout + validated.stderr
    assert victim.read_text() == "precious\n"
    assert not marker.exists()


def test_a_recipe_cannot_put_itself_into_hydra_by_package_or_defaults(folder):
    recipes, victim, marker = folder
    _write(recipes, victim, marker, "pkg", "callbacks:\n  probe: {_target_: builtins.open, file: VICTIM, mode: w}\n",
           head="# @package hydra\n")
    _write(recipes, victim, marker, "ovr", "", head="# @package _global_\ndefaults:\n  - quickstart\n"
           "  - override /hydra/job_logging: disabled\n  - _self_\n")
    env = {"MM_TRAIN_RECIPE_PATH": str(recipes)}
    assert_user_error(run_main("+recipe=pkg", env=env), "# @package hydra", str(recipes / "pkg.yaml"))
    assert_user_error(run_main("+recipe=ovr", env=env), "override /hydra/job_logging", str(recipes / "ovr.yaml"))
    assert victim.read_text() == "precious\n"


def test_a_sweep_search_space_is_allowed(folder, tmp_path):
    recipes, victim, marker = folder
    _write(recipes, victim, marker, "sweep", "hydra:\n  sweeper:\n    params:\n      train.epochs: choice(1, 2)\n")
    from mm_train.config.composition import compose_recipe
    import os
    os.environ["MM_TRAIN_RECIPE_PATH"] = str(recipes)
    try:
        assert compose_recipe("sweep").train.epochs == 10
    finally:
        del os.environ["MM_TRAIN_RECIPE_PATH"]


def test_recipe_names_and_defaults_stay_inside_the_recipe_folders(folder):
    recipes, victim, marker = folder
    outside = recipes.parent / "outside"
    outside.mkdir()
    (outside / "x.yaml").write_text(HEAD + "train: {epochs: 2}\n")
    _write(recipes, victim, marker, "climb", "", head="# @package _global_\ndefaults:\n  - quickstart\n"
           "  - ../outside/x\n  - _self_\n")
    env = {"MM_TRAIN_RECIPE_PATH": str(recipes)}
    assert_user_error(run_main("+recipe=climb", env=env), "'../outside/x' leaves the recipe folders",
                      str(recipes / "climb.yaml"))
    assert_user_error(run_main("+recipe=../outside/x", env=env), "+recipe=../outside/x", "leaves the recipe folders")
    assert_user_error(run_main(f"+recipe={outside}/x", env=env), "leaves the recipe folders")


def test_a_defaults_cycle_is_named_with_its_chain(folder):
    recipes, victim, marker = folder
    (recipes / "a.yaml").write_text("# @package _global_\ndefaults:\n  - b\n  - _self_\n")
    (recipes / "b.yaml").write_text("# @package _global_\ndefaults:\n  - quickstart\n  - a\n  - _self_\n")
    (recipes / "me.yaml").write_text("# @package _global_\ndefaults:\n  - me\n  - _self_\n")
    env = {"MM_TRAIN_RECIPE_PATH": str(recipes)}
    assert_user_error(run_main("+recipe=a", env=env), "recipes include each other: a -> b -> a")
    assert_user_error(run_main("+recipe=me", env=env), "recipes include each other: me -> me")
