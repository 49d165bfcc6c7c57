"""Everyday messages, each exact: data paths name their key and what they are relative to, sweeps name
their own folder and are checked before a job trains, what a run changes on its own is said. In process."""
from __future__ import annotations

import pytest

from helpers import assert_user_error, run_main
from mm_train.data.synthetic import write_image_folder
from mm_train.core.errors import ConfigError


def build(cfg, split="train"):
    from mm_train.data import build_dataset
    return build_dataset(cfg, split)


def test_an_image_folder_path_one_level_too_deep_names_the_path_key_and_folder(tmp_path):
    write_image_folder(tmp_path / "images", 4)
    deep = tmp_path / "images" / "train"
    with pytest.raises(ConfigError) as err:
        build({"type": "image_folder", "train": {"path": str(deep)}})
    classes = sorted(p.name for p in deep.iterdir())
    assert str(err.value) == (
        f"dataset.train.path: folder not found: {deep}/train (the 'train' split of {deep}) (expected "
        f"dataset.train.path naming the folder that holds train/<class>/*.jpg, or dataset.train.usage one of its "
        f"split folders {classes})")


def test_a_missing_eval_split_folder_names_the_path_key_not_usage(tmp_path):
    write_image_folder(tmp_path / "images", 4)
    with pytest.raises(ConfigError) as err:
        build({"type": "image_folder", "path": str(tmp_path / "images")}, "eval")
    assert str(err.value) == (
        f"dataset.path: folder not found: {tmp_path}/images/val (the 'val' split of {tmp_path}/images) (expected "
        "dataset.path naming the folder that holds val/<class>/*.jpg, or dataset.eval.usage one of its split "
        "folders ['train'])")


def test_a_relative_image_folder_path_says_what_it_is_relative_to(tmp_path):
    done = run_main("+recipe=image_folder_small", "dataset.path=data/flowers", cwd=tmp_path)
    assert_user_error(done, f"error: dataset.path: folder not found: data/flowers (relative to the working "
                            f"directory {tmp_path}: {tmp_path}/data/flowers) (expected a folder with one sub-folder "
                            "per split (train/, val/), each with one per class)")


def test_a_relative_cifar_path_says_what_it_is_relative_to(tmp_path):
    done = run_main("+recipe=resnet50_cifar", "dataset.path=nowhere", cwd=tmp_path)
    assert_user_error(done, f"error: dataset.path: folder not found: nowhere (relative to the working directory "
                            f"{tmp_path}: {tmp_path}/nowhere) (expected the cifar-10-batches-bin folder")


def test_a_relative_mindrecord_path_says_what_it_is_relative_to(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        build({"type": "mindrecord", "path": "d.mindrecord"})
    assert str(err.value) == (f"dataset.train.path: file not found: d.mindrecord (relative to the working directory "
                              f"{tmp_path}: {tmp_path}/d.mindrecord) (expected a .mindrecord file)")


def test_a_sweep_into_a_folder_holding_a_jobs_results_names_hydra_sweep_dir(tmp_path):
    sweep = tmp_path / "sweep"
    (sweep / "0" / "checkpoints").mkdir(parents=True)
    (sweep / "0" / "checkpoints" / "quickstart-1_2.ckpt").write_bytes(b"x")
    done = run_main("-m", "+recipe=quickstart", "train.epochs=1", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert_user_error(done, f"error: hydra.sweep.dir: {sweep}/0 already holds the results of a run (checkpoints/) "
                            "(expected resume=auto to continue that run, overwrite=true to move its results into "
                            f"{sweep}/0/previous-TIMESTAMP/ first, or another hydra.sweep.dir)")
    assert "hydra.run.dir" not in done.stderr


def test_a_run_into_a_folder_holding_results_still_names_hydra_run_dir(tmp_path):
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "checkpoints" / "quickstart-1_2.ckpt").write_bytes(b"x")
    done = run_main("+recipe=quickstart", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert_user_error(done, f"error: hydra.run.dir: {tmp_path}/run already holds the results of a run")


def test_a_bad_value_in_a_later_sweep_job_is_refused_before_any_job_trains(tmp_path):
    sweep = tmp_path / "sweep"
    done = run_main("-m", "+recipe=quickstart", "train.epochs=1,abc", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert_user_error(done, "error: sweep job 1 of 2 (train.epochs=abc): train.epochs: got 'abc' (expected a whole "
                            "number >= 1); no job was started")
    assert not (sweep / "0").exists() and not (sweep / "multirun.yaml").exists()


def test_a_warm_up_longer_than_the_run_is_said_once_with_what_it_became(tmp_path, capsys):
    from training_helpers import train
    train(tmp_path / "run", "train.epochs=1", "lr_schedule.warmup_epochs=5")   # 64 images / 16: 4 steps
    notes = [line for line in capsys.readouterr().out.splitlines() if "warmup_epochs" in line]
    assert notes == ["note: lr_schedule.warmup_epochs=5 is longer than this run (1 epoch): the warm-up became the "
                     "whole run (4 steps), so the rate ends at 0.0775, not lr_max 0.1"]


def test_a_fractional_warm_up_says_the_steps_or_epochs_it_became():
    from mm_train.learning.lr_schedules import warmup_note
    spec = {"type": "cosine", "lr_max": 0.1, "warmup_epochs": 0.33}
    assert warmup_note(spec, 100, 10) == "note: lr_schedule.warmup_epochs=0.33 became 3 steps (0.3 epochs of 10 steps)"
    assert warmup_note({**spec, "warmup_epochs": 1.5, "by_epoch": True}, 100, 10) == (
        "note: lr_schedule.warmup_epochs=1.5 became 2 epochs (lr_schedule.by_epoch: true changes the rate once an "
        "epoch)")
    assert warmup_note({**spec, "warmup_epochs": 0.5}, 100, 10) is None     # 5 steps, as asked
    assert warmup_note({**spec, "warmup_epochs": 2}, 100, 10) is None


def test_init_from_a_pth_says_in_one_line_what_it_loaded(tmp_path, capsys):
    from test_weight_import_wrappers import network, write_state

    from mm_train.assembly.init_from import load
    path, _ = write_state(tmp_path / "w.pth", "module.")
    capsys.readouterr()
    report = load(network(), {"path": str(path), "rules": {"strip_prefix": "module."}})
    assert report.ok
    assert capsys.readouterr().out.splitlines() == [
        f"init_from: loaded {path} (torch, rules torch + {{strip_prefix: module.}}): matched 7 of 7 network parameters"]


@pytest.mark.parametrize("task", ["summary", "check"])
def test_a_report_task_without_a_run_dir_leaves_no_folder(tmp_path, task):
    done = run_main("+recipe=quickstart", f"task={task}", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ("Total params:" if task == "summary" else "check passed:") in done.stdout
    assert "run directory:" not in done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == []     # no outputs/DATE/TIME


def test_a_report_task_given_a_run_dir_writes_its_report_there(tmp_path):
    done = run_main("+recipe=quickstart", "task=summary", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "run" / "summary.txt").read_text().rstrip().endswith("Total params: 29,738")


def quoted_errors() -> list[tuple[str, str, str]]:
    """(file, command, quoted message) of every example in README.md and docs/*.md that shows a
    ``python run.py ...`` line followed by the ``error: ...`` it prints (``$ `` and ``# `` prefixes
    allowed; the message may wrap over the following indented lines)."""
    import re

    from helpers import ROOT
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        lines = doc.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines[:-1]):
            command = re.match(r"\s+(?:\$ )?python run\.py (.+)$", line)
            first = re.match(r"\s+(?:# )?(error: .+)$", lines[i + 1])
            if not (command and first):
                continue
            text = [first.group(1)]
            for more in lines[i + 2:]:
                if not more.startswith("    ") or re.match(r"\s+(\$ |# |python )", more):
                    break
                text.append(more.strip())
            found.append((doc.name, command.group(1), " ".join(text)))
    return found


def test_the_docs_quote_each_example_error_as_mm_train_prints_it_today():
    import shlex
    examples = quoted_errors()
    assert len(examples) >= 3, examples      # README's Errors section, docs/networks.md's two
    for doc, command, quoted in examples:
        done = run_main(*shlex.split(command))
        assert done.returncode == 2, (doc, command, done.stderr)
        assert " ".join(done.stderr.split()) == " ".join(quoted.split()), (doc, command, done.stderr)
