"""Tasks declare what they need in TASKS (needs_weights, keeps_results, report); validation, the run
directory and the entry point read the declarations, not lists of task names."""
from __future__ import annotations

import json

from mm_train.config.schema import task_errors
from mm_train.registry import Registry


def _tasks() -> Registry:
    tasks = Registry("task", takes=("config", "run_dir", "recipe", "record"))
    tasks.register("score", needs_weights=True)(lambda config, run_dir, recipe, record=None: None)
    tasks.register("draw")(lambda config, run_dir, recipe, record=None: None)
    return tasks


def test_a_task_that_declares_it_needs_weights_is_refused_without_init_from():
    errors = task_errors({"task": "score", "init_from": None}, _tasks())
    assert [str(e) for e in errors] == ["init_from: task=score needs weights (expected init_from=PATH.ckpt)"]
    assert task_errors({"task": "score", "init_from": "w.ckpt"}, _tasks()) == []
    assert task_errors({"task": "draw"}, _tasks()) == []


def test_an_unknown_task_names_the_declared_ones():
    (error,) = task_errors({"task": "scor"}, _tasks())
    assert str(error).startswith("task: got 'scor' (expected one of ['draw', 'score'])")
    assert "Did you mean 'score'?" in str(error)


def test_the_framework_tasks_are_named_task_and_declare_their_needs():
    from mm_train.jobs import TASKS, task_flag
    assert TASKS.names() == ["check", "eval", "export", "predict", "summary", "train"]
    assert all(TASKS.get(name, "task").__name__ == f"{name}_task" for name in TASKS.names())
    assert [n for n in TASKS.names() if task_flag(n, "needs_weights")] == ["eval", "export"]
    assert [n for n in TASKS.names() if task_flag(n, "keeps_results")] == ["eval", "train"]
    assert [n for n in TASKS.names() if task_flag(n, "report")] == ["check", "summary"]


def test_run_info_keeps_the_task_settings_when_the_run_ends(tmp_path):
    from mm_train.config.run_record import RunRecord
    record = RunRecord(tmp_path, "quickstart", ["train.epochs=1"], seed=3, metrics=False)
    record.begin({"task": "train", "seed": 3})
    record.add({"data_workers": {"train": 2, "eval": 2}})
    record.end("finished")
    info = json.loads((tmp_path / "run_info.json").read_text())
    assert info["data_workers"] == {"train": 2, "eval": 2}
    assert info["status"] == "finished" and info["seed"] == 3
    assert not (tmp_path / "metrics.json").exists()
