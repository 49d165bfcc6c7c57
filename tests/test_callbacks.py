"""Callbacks: TensorBoard event files, checkpoints (last K, best), progress bar, early stopping, curves PNG."""
from __future__ import annotations

import json

import numpy as np
import pytest

from training_helpers import compose, read_events, train

CALLBACKS = ("callbacks=[{type: TensorBoard}, {type: ProgressBar},"
             " {type: ModelCheckpoint, save_checkpoint_epochs: 1, keep_checkpoint_max: 2, keep_best_by: acc}]")


def test_a_run_writes_tensorboard_events_checkpoints_metrics_and_curves(tmp_path, capsys):
    train(tmp_path, "train.epochs=3", CALLBACKS)            # 64 samples, batch 16: 4 steps an epoch
    out = capsys.readouterr().out
    assert "img/s" not in out                                  # stdout is not a terminal: no progress bar

    scalars = read_events(tmp_path / "tensorboard")
    assert {"train/loss", "train/lr", "train/images_per_sec", "eval/acc", "eval/loss"} <= set(scalars)
    assert [s for s, _ in scalars["train/loss"]] == list(range(1, 13))
    assert [s for s, _ in scalars["eval/acc"]] == [4, 8, 12]
    assert all(v > 0 for _, v in scalars["train/images_per_sec"])
    config = compose("train.epochs=3")
    spec = config["lr_schedule"]   # quickstart: warmup_cosine over 12 steps, 4 of warmup
    from mm_train.learning.lr_schedules import build_lr_schedule
    expected = build_lr_schedule(spec, 12, 4, 16)
    np.testing.assert_allclose([v for _, v in scalars["train/lr"]], expected, rtol=1e-6)

    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [1, 2, 3]
    assert metrics["final"]["acc"] == metrics["history"][-1]["acc"]
    np.testing.assert_allclose([v for _, v in scalars["eval/acc"]], [h["acc"] for h in metrics["history"]],
                               rtol=1e-6)
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    folder = tmp_path / "checkpoints"
    assert sorted(p.name for p in folder.glob("quickstart-*_*.ckpt")) == ["quickstart-2_4.ckpt", "quickstart-3_4.ckpt"]
    best = json.loads((folder / "quickstart-best.json").read_text())
    assert best["acc"] == max(h["acc"] for h in metrics["history"])
    assert (folder / "quickstart-best.ckpt").is_file()
    assert not list(folder.glob(".tmp*"))


def test_progress_bar_draws_on_a_terminal_only(tmp_path, capsys, monkeypatch):
    from mm_train.callbacks.context import RunContext
    from mm_train.callbacks.progress import Progress, Quiet, progress_bar

    ctx = RunContext(tmp_path, 4, 2, "x", batch_size=16)
    assert isinstance(progress_bar(ctx), Quiet)                 # pytest captures stdout: not a tty
    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    assert isinstance(progress_bar(ctx), Progress)
    train(tmp_path, "train.epochs=1", "callbacks=[{type: ProgressBar, force: true}]")
    out = capsys.readouterr().out
    assert "epoch 1/1" in out and "4/4" in out and "img/s" in out and "ETA" in out


def test_early_stopping_ends_training_when_the_metric_stalls(tmp_path, capsys):
    train(tmp_path, "train.epochs=6",
          "callbacks=[{type: EarlyStopping, monitor: acc, patience: 1, min_delta: 1.0}]")
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2]       # no gain of 1.0 in acc after epoch 1: stop after 2
    assert "early stopping at epoch 2" in capsys.readouterr().out
    assert (tmp_path / "curves.png").is_file()


def test_callback_errors_name_the_key(tmp_path):
    from mm_train.core.errors import ConfigError
    with pytest.raises(ConfigError, match=r"callbacks\[0\].type: unknown callback 'TensorBord'.*'TensorBoard'"):
        train(tmp_path, "callbacks=[{type: TensorBord}]")
    with pytest.raises(ConfigError, match=r"callbacks\[0\].keep_best: unknown argument.*'keep_best_by'"):
        train(tmp_path, "callbacks=[{type: ModelCheckpoint, keep_best: acc}]")


def test_a_diverging_run_stops_at_the_first_nan_or_inf_loss_with_one_message(tmp_path):
    import re

    from helpers import run_main
    result = run_main("+recipe=quickstart", "lr_schedule.lr_max=1e4", "train.epochs=2", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "loss is NAN or INF" not in result.stderr   # not MindSpore's
    message = result.stderr.strip().splitlines()[-1]
    match = re.fullmatch(r"error: training diverged: the loss is (nan|inf|-inf) at epoch 1, step (\d+) "
                         r"\(learning rate ([0-9.e+]+)\); the run stopped there, keeping the checkpoints written "
                         r"before\. Try a lower learning rate \(lr_schedule\.lr_max\), gradient clipping "
                         r"\(\+\+optimizer\.clip_grad_norm=1\.0\), or check the data \(debug=small\)", message)
    assert match, message
    step = int(match.group(2))
    assert 1 <= step < 44                                   # stopped within the first epoch (44 steps)
    from mm_train.learning.lr_schedules import build_lr_schedule
    lr = build_lr_schedule(compose("lr_schedule.lr_max=1e4", "train.epochs=2")["lr_schedule"], 88, 44, 32)
    assert float(match.group(3)) == pytest.approx(lr[step - 1], rel=1e-3)
    record = json.loads((tmp_path / "metrics.json").read_text())   # the run's record: no evaluation of it
    assert record["status"] == "diverged" and record["history"] == [] and "final" not in record
