"""Sizes are bounded before anything is allocated, missing transforms
are caught before compiling, a run directory belongs to one run, and a failed write is one message."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from helpers import assert_user_error, cli_main, run_main

FAST = ("+recipe=quickstart", "debug=fast")


def _recipe(folder, name, body):
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yaml").write_text("# @package _global_\ndefaults:\n  - quickstart\n  - _self_\n" + body)
    return {"MM_TRAIN_RECIPE_PATH": str(folder)}


# -- transforms removed -------------------------------------------------------------------

def test_removed_transforms_are_caught_before_compiling(tmp_path):
    env = _recipe(tmp_path / "recipes", "raw", "dataset:\n  train: {transforms: []}\n")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    result = run_main("+recipe=raw", "debug=fast", f"hydra.run.dir={tmp_path / 'run'}", env=env, cwd=cwd)
    assert_user_error(result, "dataset.train.transforms", "uint8 of shape (8, 8, 3)", "(3, 8, 8)", "HWC2CHW")
    assert list(cwd.iterdir()) == []     # nothing (rank_0/om/analyze_fail.ir) outside the run directory


# -- unbounded sizes ----------------------------------------------------------------------

@pytest.mark.parametrize("override, fragments", [
    ("network.layers.conv1.out_channels=9223372036854775808",
     ["network.layers.conv1.out_channels: got 9223372036854775808", "from 1 to 2147483647"]),
    ("+network.layers.conv1.stride=9223372036854775808", ["network.layers.conv1.stride: got 9223372036854775808"]),
    ("+network.layers.more={type:Repeat,repeat:1e30,block:{type:ReLU}}", ["network.layers.more.repeat: got 1e+30"]),
    ("+network.layers.more={type:Repeat,repeat:1000000000000,block:{type:ReLU}}",
     ["network.layers.more.repeat: got 1000000000000", "from 1 to 1000"]),
    ("network.layers.fc.out_channels=2147483647",
     ["network.layers.fc: the network would have about 2,201,170,757,855 parameters", "limits.max_params"]),
])
def test_huge_sizes_are_refused_before_anything_is_allocated(tmp_path, override, fragments):
    assert_user_error(run_main(*FAST, override, f"hydra.run.dir={tmp_path}"), *fragments)


@pytest.mark.parametrize("task", ["train", "summary", "check"])
def test_max_params_is_a_config_key(task, tmp_path):
    result = run_main(*FAST, f"task={task}", "limits.max_params=1000", f"hydra.run.dir={tmp_path}")
    assert_user_error(result, "network.layers.conv2: the network would have about 19,680 parameters",
                      "limits.max_params=1,000")


# -- recipes validate -------------------------------------------------------------------

@pytest.mark.parametrize("body, fragment", [
    ("dataset:\n  train: {num_parallel_workers: 0}\n", "dataset.train.num_parallel_workers: got 0"),
    ("dataset:\n  train: {num_parallel_workers: -2}\n", "dataset.train.num_parallel_workers: got -2"),
    ("dataset:\n  train: {num_parallel_workers: abc}\n", "dataset.train.num_parallel_workers: got 'abc'"),
    ("dataset:\n  train: {num_parallel_workers: .nan}\n", "dataset.train.num_parallel_workers: got nan"),
    ("dataset:\n  train: {num_parallel_workers: {value: 2}}\n", "dataset.train.num_parallel_workers: got {'value': 2}"),
    ("dataset:\n  train: {num_parallel_workers: 9223372036854775808}\n", "num_parallel_workers: got 9223372036854775808"),
    ("dataset:\n  columns: {image: {a: 1}}\n", "dataset.columns.image: got {'a': 1}"),
    ("lr_schedule: {warmup_epochs: [1, 2]}\n", "lr_schedule.warmup_epochs: got [1, 2]"),
    ("optimizer: {no_decay: [null]}\n", "optimizer.no_decay: got [None]"),
    ("optimizer: {momentum: \"${dataset.num_classes\"}\n", "optimizer.momentum: unterminated interpolation"),
])
def test_recipes_validate_names_the_key(tmp_path, body, fragment):
    env = _recipe(tmp_path / "recipes", "bad", body)
    result = cli_main("recipes", "validate", "bad", env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in output, output
    assert fragment in output, output


# -- a run directory has one owner -------------------------------------------------------

def test_a_second_run_into_a_locked_run_dir_is_refused(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        tmp_path.mkdir(exist_ok=True)
        (tmp_path / ".lock").write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname(),
                                                    "started": "2026-01-01 10:00:00"}))
        result = run_main(*FAST, f"hydra.run.dir={tmp_path}")
        assert_user_error(result, f"{tmp_path} is in use by another run (pid {holder.pid}")
        assert not (tmp_path / "metrics.json").exists()
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone now: its lock is taken over
    result = run_main(*FAST, f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    assert f"left by pid {holder.pid}" in result.stdout and not (tmp_path / ".lock").exists()


def test_rerunning_into_a_finished_run_dir_needs_resume_or_overwrite(tmp_path):
    first = run_main(*FAST, "callbacks=[{type: ModelCheckpoint, keep_checkpoint_max: 3}]", f"hydra.run.dir={tmp_path}")
    assert first.returncode == 0, first.stderr
    metrics = (tmp_path / "metrics.json").read_text()
    old = sorted(p.name for p in (tmp_path / "checkpoints").glob("*.ckpt"))
    again = run_main(*FAST, f"hydra.run.dir={tmp_path}")
    assert_user_error(again, "already holds the results of a run", "resume=auto", "overwrite=true")
    assert (tmp_path / "metrics.json").read_text() == metrics
    over = run_main(*FAST, "overwrite=true", f"hydra.run.dir={tmp_path}")
    assert over.returncode == 0, over.stderr
    previous = [p for p in tmp_path.iterdir() if p.name.startswith("previous-")]
    assert len(previous) == 1 and (previous[0] / "metrics.json").read_text() == metrics
    assert sorted(p.name for p in (previous[0] / "checkpoints").glob("*.ckpt")) == old


def test_pruning_keeps_the_checkpoints_of_other_runs(tmp_path):
    """keep_checkpoint_max counts only this run's files: older ones in the folder stay."""
    from types import SimpleNamespace

    from mm_train.callbacks.checkpoint import AtomicCheckpoint
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    for name in ("quickstart-1_1.ckpt", "quickstart-2_1.ckpt", "quickstart-9_1.ckpt"):   # another run's
        (folder / name).write_bytes(b"x")
    ctx = SimpleNamespace(run_dir=tmp_path, rank=1, steps_per_epoch=1, global_step=lambda p: p.step)
    cb = AtomicCheckpoint(ctx, None, 1, 1, None, "max", "quickstart")
    for epoch in (3, 4):
        (folder / f"quickstart-{epoch}_1.ckpt").write_bytes(b"x")   # rank 1 does not write: stand in for rank 0
        cb._save(SimpleNamespace(step=epoch, cur_epoch_num=epoch))
        cb._prune()
    assert sorted(p.name for p in folder.iterdir()) == ["quickstart-1_1.ckpt", "quickstart-2_1.ckpt",
                                                         "quickstart-4_1.ckpt", "quickstart-9_1.ckpt"]


# -- a failed write ---------------------------------------------------------------------

def test_disk_full_while_saving_a_checkpoint_is_one_message(tmp_path, monkeypatch):
    """mindspore.save_checkpoint fails as a full disk would, from its second call on
    (simulated: this machine has no small file system to fill, and root ignores chmod)."""
    import errno

    import mindspore as ms
    real, calls = ms.save_checkpoint, []

    def full(cell, path, *args, **kwargs):
        calls.append(path)
        if len(calls) > 1:
            with open(path, "wb") as f:
                f.write(b"half a checkpoint")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(cell, path, *args, **kwargs)

    monkeypatch.setattr(ms, "save_checkpoint", full)
    run = tmp_path / "run"
    result = run_main(*FAST, "debug.epochs=2", "callbacks=[{type: ModelCheckpoint, save_checkpoint_epochs: 1}]",
                      f"hydra.run.dir={run}", cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in output, output
    assert f"cannot write {run / 'checkpoints' / 'quickstart-2_4.ckpt'}: No space left on device" in result.stderr
    assert f"the last complete checkpoint is {run / 'checkpoints' / 'quickstart-1_4.ckpt'}" in result.stderr
    assert "resume=auto" in result.stderr
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["quickstart-1_4.ckpt"]   # no .tmp-


def test_a_failed_run_file_write_names_the_file_and_leaves_no_temp_file(tmp_path, monkeypatch):
    """Permission denied on metrics.json (simulated: root ignores chmod), through write_json."""
    from pathlib import Path

    from mm_train.core.errors import WriteFailed
    from mm_train.run_dir.files import write_json

    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "write_text", denied)
    with pytest.raises(WriteFailed, match=r"cannot write .*metrics.json: Permission denied"):
        write_json(tmp_path / "metrics.json", {"final": {}})
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
