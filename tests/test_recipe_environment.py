"""A recipe file cannot read the environment: ${oc.env:NAME} is refused naming the key, so a secret is never
resolved into the run directory's config.yaml or run_info.json (command-line values are the user's own)."""
from __future__ import annotations

import pytest

from mm_train.__main__ import main as run_main
from mm_train.commands import main as cli_main

HEAD = "# @package _global_\ndefaults:\n  - quickstart\n  - _self_\n"
READS = {
    "plain": "seed: ${oc.env:SOME_SECRET}\n",
    "default": "optimizer: {momentum: '${oc.env:SOME_SECRET,0.9}'}\n",
    "nested": "dataset:\n  train: {path: '${oc.decode:${oc.env:SOME_SECRET}}'}\n",
    "spaced": "network:\n  layers:\n    fc: {type: Dense, out_channels: '${ oc.env : SOME_SECRET }'}\n",
    "in_list": "callbacks:\n  - {type: TensorBoard, subdir: 'x${oc.env:SOME_SECRET}'}\n",
}


@pytest.mark.parametrize("case", sorted(READS))
def test_a_recipe_that_reads_an_environment_variable_is_refused(tmp_path, monkeypatch, capsys, case):
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / f"{case}.yaml").write_text(HEAD + READS[case])
    monkeypatch.setenv("MM_TRAIN_RECIPE_PATH", str(recipes))
    monkeypatch.setenv("SOME_SECRET", "hunter2")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        run_main([f"+recipe={case}", f"hydra.run.dir={tmp_path / 'run'}"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "reads an environment variable" in err and str(recipes) in err
    assert "hunter2" not in err
    assert not any("hunter2" in p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    assert cli_main(["recipes", "show", case]) == 2
    assert "hunter2" not in capsys.readouterr().out
