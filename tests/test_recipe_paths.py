"""Every file name a recipe gives for what the run writes stays inside the run directory: a checkpoint
prefix, a TensorBoard folder, an export file name that is a path is refused at validation, exit 2,
naming the key, and nothing is written outside the run directory."""
from __future__ import annotations

import pytest

from mm_train.__main__ import main as run_main
from mm_train.commands import main as cli_main
from mm_train.core.errors import ConfigError
from mm_train.run_dir.paths import inside, name_problem

HEAD = "# @package _global_\ndefaults:\n  - quickstart\n  - _self_\n"
CASES = {
    "prefix_absolute": ("callbacks:\n  - {type: ModelCheckpoint, prefix: OUT/x}\n", "callbacks[0].prefix"),
    "prefix_climbs": ("callbacks:\n  - {type: ModelCheckpoint, prefix: ../../x}\n", "callbacks[0].prefix"),
    "tensorboard_absolute": ("callbacks:\n  - {type: TensorBoard, subdir: OUT/tb}\n", "callbacks[0].subdir"),
    "export_absolute": ("task: export\ninit_from: OUT/w.ckpt\nexport: {file_name: OUT/model}\n", "export.file_name"),
}


def tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def world(tmp_path, monkeypatch):
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    monkeypatch.setenv("MM_TRAIN_RECIPE_PATH", str(recipes))
    monkeypatch.chdir(tmp_path)
    return tmp_path, recipes


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_file_name_that_is_a_path_is_refused_before_the_run_writes(world, capsys, case):
    root, recipes = world
    body, key = CASES[case]
    outside = root / "outside"
    outside.mkdir()
    (recipes / f"{case}.yaml").write_text(HEAD + body.replace("OUT", str(outside)))
    run_dir = root / "run"
    before = [p for p in tree(root)]
    with pytest.raises(SystemExit) as exit_info:
        run_main([f"+recipe={case}", f"hydra.run.dir={run_dir}"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err
    assert f"{key}: " in err and "inside the run directory" in err, err
    assert [p for p in tree(root) if not p.startswith("run")] == before   # only Hydra's run dir is new
    assert tree(outside) == [] and not (run_dir / "checkpoints").exists()
    assert cli_main(["recipes", "validate", case]) == 1
    assert key in capsys.readouterr().out


@pytest.mark.parametrize("name", ["/abs/x", "../x", "a/b", "..", ".", ".lock", ".hydra", "~", "~root/x", "x\\y",
                                  "x\ny", "", "x" * 201])
def test_names_that_leave_or_clobber_the_run_directory_are_not_file_names(name):
    assert name_problem(name) is not None


@pytest.mark.parametrize("name", ["model", "resnet50-best", "tb_train", "x.y", "a b", "ü"])
def test_plain_names_are_file_names(name):
    assert name_problem(name) is None


def test_a_symlink_placed_in_the_run_directory_is_not_followed_out(tmp_path):
    run_dir, outside = tmp_path / "run", tmp_path / "outside"
    run_dir.mkdir()
    outside.mkdir()
    (run_dir / "tensorboard").symlink_to(outside)
    with pytest.raises(ConfigError, match=r"callbacks.TensorBoard.subdir: .* leads outside the run directory"):
        inside(run_dir, "tensorboard", "callbacks.TensorBoard.subdir")
    assert inside(run_dir, "model", "export.file_name") == run_dir / "model"


def test_the_same_names_given_on_the_command_line_are_refused(world, capsys):
    root, _ = world
    with pytest.raises(SystemExit) as exit_info:
        run_main(["+recipe=quickstart", "task=export", f"init_from={root}/w.ckpt", f"export.file_name={root}/m",
                  f"hydra.run.dir={root / 'run'}"])
    assert exit_info.value.code == 2
    assert "export.file_name: " in capsys.readouterr().err
    assert not list(root.glob("m*"))
