"""``train.metrics: [acc, acc5]``: top-k accuracy everywhere an eval metric goes."""
from __future__ import annotations

import json

import numpy as np
import pytest

import training_helpers
from mm_train.core.errors import ConfigError
from mm_train.jobs import prepare
from mm_train.reports.sweep_report import report

WATCH = ("train.metrics=[acc,acc5]", "train.metric=acc5",
         "callbacks=[{type: ModelCheckpoint, save_checkpoint_epochs: 1, keep_best_by: acc5},"
         "{type: EarlyStopping, monitor: acc5, patience: 5}, {type: TensorBoard}]")


def test_acc5_is_in_metrics_json_tensorboard_best_checkpoint_and_sweep_report(tmp_path):
    job = tmp_path / "sweep" / "0"
    value = training_helpers.train(job, *WATCH)
    final = json.loads((job / "metrics.json").read_text())["final"]
    assert set(final) == {"acc", "acc5", "loss"}
    assert value == final["acc5"] and final["acc"] <= final["acc5"] <= 1.0
    history = json.loads((job / "metrics.json").read_text())["history"]
    assert all("acc5" in entry for entry in history) and len(history) == 2
    events = training_helpers.read_events(job / "tensorboard")
    assert [v for _, v in events["eval/acc5"]] == pytest.approx([e["acc5"] for e in history], rel=1e-6)
    best = json.loads((job / "checkpoints" / "quickstart-best.json").read_text())
    assert best["acc5"] == pytest.approx(max(e["acc5"] for e in history))
    (job / ".hydra").mkdir(exist_ok=True)
    (job / ".hydra" / "overrides.yaml").write_text("- train.metrics=[acc,acc5]\n")
    rows = report(tmp_path / "sweep", metric="acc5")
    assert rows[0][-4:] == ["acc5", "acc", "loss", "status"] and rows[1][-1] == "finished"
    assert float(rows[1][-4]) == pytest.approx(final["acc5"], rel=1e-5)


def test_top1_acc_of_a_network_that_always_says_one_class_and_its_top5():
    """acc5 is MindSpore's TopKCategoricalAccuracy: a label among the 5 highest logits."""
    from mm_train.core.metrics import build_metrics
    metrics = build_metrics(["acc", "acc5"])
    logits = np.tile(np.arange(10, dtype=np.float32), (4, 1))   # ranks 9,8,7,6,5 highest
    labels = np.array([9, 5, 4, 0], dtype=np.int32)
    for metric in metrics.values():
        metric.clear()
        metric.update(logits, labels)
    assert metrics["acc"].eval() == pytest.approx(0.25) and metrics["acc5"].eval() == pytest.approx(0.5)


def test_unknown_metric_names_and_watchers_are_found_by_validation():
    bad = training_helpers.compose("train.metrics=[acc,top5]")
    with pytest.raises(ConfigError, match=r"train.metrics\[1\]: got 'top5'.*accK"):
        prepare(bad)
    watcher = training_helpers.compose("callbacks=[{type: EarlyStopping, monitor: acc5}]")
    with pytest.raises(ConfigError, match=r"callbacks\[0\].monitor: no eval metric 'acc5'.*add it to train.metrics"):
        prepare(watcher)
    with pytest.raises(ConfigError, match=r"train.metric: got 'acc5'"):
        prepare(training_helpers.compose("train.metric=acc5"))
