"""Recipe files are read within bounds: bombs (aliases, interpolations, nesting), a 2 MB file, a file that
is not UTF-8, a FIFO, a link out of the recipe folders and a too-long name are each refused with one
message naming the file (and line or key), exit 2 from run.py, FAILED from recipes validate; recipes ls
lists the rest and names what it cannot read."""
from __future__ import annotations

import pytest

from hostile_recipes import HEAD, write_all
from mm_train.__main__ import main as run_main
from mm_train.commands import main as cli_main


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile") / "recipes"
    return folder, write_all(folder)


@pytest.fixture
def recipe_path(hostile, monkeypatch, tmp_path):
    monkeypatch.setenv("MM_TRAIN_RECIPE_PATH", str(hostile[0]))
    monkeypatch.chdir(tmp_path)
    return hostile



KINDS = ["alias_bomb", "interpolation_bomb", "known_key_bomb", "node_bomb", "deep_lists", "deep_mappings",
         "latin1", "huge", "linked", "link_by_defaults", "pipe", "y" * 300]


@pytest.mark.parametrize("name", KINDS, ids=lambda n: n[:20])
def test_each_hostile_recipe_file_is_refused_naming_it(recipe_path, capsys, tmp_path, name):
    folder, expected = recipe_path
    fragment = expected[name][0]
    with pytest.raises(SystemExit) as exit_info:
        run_main([f"+recipe={name}", f"hydra.run.dir={tmp_path / 'run'}"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err
    assert fragment in err, err
    assert cli_main(["recipes", "validate", name]) == 1
    out = capsys.readouterr().out
    assert fragment in out and f"FAILED  {name}" in out, out


def test_recipes_ls_lists_what_it_can_and_names_what_it_cannot_read(recipe_path, capsys):
    folder, _ = recipe_path
    assert cli_main(["recipes", "ls"]) == 1
    out, err = capsys.readouterr()
    assert "quickstart" in out and "alias_bomb" in out
    for fragment in ("'latin1': ", "is not UTF-8 text", "'pipe': ", "is a named pipe", "'linked': ",
                     "is a link to", "'huge': ", "is 2,000,059 bytes"):
        assert fragment in err, err
    assert "Traceback" not in err


def test_recipes_cp_does_not_copy_a_pipe_or_a_link_out(recipe_path, capsys, tmp_path):
    assert cli_main(["recipes", "cp", "pipe", str(tmp_path / "copy.yaml")]) == 2
    assert cli_main(["recipes", "cp", "linked", str(tmp_path / "copy.yaml")]) == 2
    assert "is a link to" in capsys.readouterr().err and not (tmp_path / "copy.yaml").exists()


def test_a_link_to_a_file_inside_the_recipe_folders_is_followed(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "recipes"
    (folder / "team").mkdir(parents=True)
    (folder / "team" / "base.yaml").write_text(HEAD + "train: {epochs: 3}\n")
    (folder / "alias.yaml").symlink_to(folder / "team" / "base.yaml")
    monkeypatch.setenv("MM_TRAIN_RECIPE_PATH", str(folder))
    assert cli_main(["recipes", "show", "alias"]) == 0
    assert "epochs: 3" in capsys.readouterr().out
