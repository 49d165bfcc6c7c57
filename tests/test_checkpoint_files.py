"""Checkpoint files: names that sort by epoch, an ordinary file mode, no temporary file after a failed write
(whatever name MindSpore gives it), and pruning after a resume that counts the earlier run's checkpoints."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from training_helpers import train
from mm_train.runtime.checkpoints import checkpoint_files, checkpoint_name, save_atomic
from mm_train.core.errors import WriteFailed


def test_checkpoint_names_sort_by_epoch():
    names = [checkpoint_name("quickstart", epoch, 44, 20, 44) for epoch in range(1, 21)]
    assert names[:2] == ["quickstart-01_44.ckpt", "quickstart-02_44.ckpt"] and names[-1] == "quickstart-20_44.ckpt"
    assert sorted(names) == names
    assert checkpoint_name("quickstart", 2, 4, 3, 4) == "quickstart-2_4.ckpt"        # short runs keep short names
    assert checkpoint_name("quickstart", 3, 7, 12, 250) == "quickstart-03_007.ckpt"  # mid-epoch


def _tiny_cell():
    import mindspore.nn as nn
    return nn.Dense(2, 2)


def test_a_checkpoint_is_written_with_an_ordinary_file_mode(tmp_path):
    umask = os.umask(0o022)
    try:
        path = save_atomic(_tiny_cell(), tmp_path / "c" / "x-1_1.ckpt", {"epoch_num": 1, "step_num": 1})
    finally:
        os.umask(umask)
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)   # not MindSpore's 0400


def test_an_export_is_written_with_an_ordinary_file_mode(tmp_path):
    from mm_train.tasks.export import export_network
    umask = os.umask(0o022)
    try:
        path = export_network(_tiny_cell(), (2,), tmp_path, {"format": "MINDIR", "file_name": "model", "batch_size": 1})
    finally:
        os.umask(umask)
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)


def test_a_full_disk_leaves_no_temporary_file(tmp_path, monkeypatch):
    import mindspore as ms

    def disk_full(cell, name, **kwargs):   # what MindSpore does: NAME.tmp first, then the rename
        Path(name).with_suffix(".tmp").write_bytes(b"half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    folder = tmp_path / "checkpoints"
    save_atomic(_tiny_cell(), folder / "q-1_4.ckpt", {"epoch_num": 1, "step_num": 4})
    monkeypatch.setattr(ms, "save_checkpoint", disk_full)
    with pytest.raises(WriteFailed) as err:
        save_atomic(_tiny_cell(), folder / "q-2_4.ckpt", {"epoch_num": 2, "step_num": 8})
    assert str(err.value) == (f"cannot write {folder / 'q-2_4.ckpt'}: No space left on device; the last complete "
                              f"checkpoint is {folder / 'q-1_4.ckpt'}; after freeing space or fixing permissions, "
                              "continue with resume=auto and the same hydra.run.dir")
    assert sorted(p.name for p in folder.iterdir()) == ["q-1_4.ckpt"]


def test_pruning_after_a_resume_counts_the_earlier_runs_checkpoints(tmp_path):
    keep_two = "callbacks=[{type: ModelCheckpoint, keep_checkpoint_max: 2}]"
    train(tmp_path, keep_two, "train.epochs=2")
    train(tmp_path, keep_two, "train.epochs=4", "resume=auto")
    assert [p.name for p in checkpoint_files(tmp_path / "checkpoints")] == ["quickstart-3_4.ckpt",
                                                                            "quickstart-4_4.ckpt"]
