"""A run's record: status, start and end, the recipe file and its hash; the sweep report ranks finished jobs
only; a resume with changed settings is refused by name unless allowed, then the config history is kept."""
from __future__ import annotations

import hashlib
import json
import signal
from pathlib import Path

import pytest
import yaml

from helpers import ROOT
from training_helpers import train
from mm_train.core.errors import ConfigError
from mm_train.runtime.interruption import Interrupted
from mm_train.registry import CALLBACKS


def read(path: Path) -> dict:
    return json.loads(path.read_text())


def test_a_finished_run_records_status_times_and_the_recipe_file_and_hash(tmp_path):
    train(tmp_path, "train.epochs=1")
    recipe = ROOT / "recipes" / "quickstart.yaml"
    for name in ("metrics.json", "run_info.json"):
        record = read(tmp_path / name)
        assert record["status"] == "finished", name
        assert record["started"] <= record["ended"] and record["ended"].endswith("Z")
        assert record["recipe_file"] == str(recipe)
        assert record["recipe_sha256"] == hashlib.sha256(recipe.read_bytes()).hexdigest()
    metrics = read(tmp_path / "metrics.json")
    assert metrics["final"] == {k: v for k, v in metrics["history"][-1].items() if k not in ("epoch", "step")}
    assert "last" not in metrics


def interrupt_at(ctx, step: int = 1):
    """A callback raising what SIGINT raises, after global step ``step``."""
    from mindspore.train import Callback

    class InterruptAt(Callback):
        def on_train_step_end(self, run_context):
            if ctx.global_step(run_context.original_args()) == step:
                raise Interrupted(signal.SIGINT)
    return InterruptAt()


@pytest.fixture
def interrupting_callback():
    CALLBACKS.register("InterruptAt", interrupt_at)
    yield
    for table in (CALLBACKS._items, CALLBACKS._origins, CALLBACKS._meta):
        table.pop("InterruptAt", None)


def test_an_interrupted_run_has_no_final_block_and_says_interrupted(tmp_path, interrupting_callback):
    with pytest.raises(Interrupted):
        train(tmp_path, "callbacks=[{type: InterruptAt, step: 6}]")
    metrics = read(tmp_path / "metrics.json")
    assert metrics["status"] == "interrupted" and "final" not in metrics
    assert [h["epoch"] for h in metrics["history"]] == [1] and metrics["last"]["acc"] == metrics["history"][0]["acc"]
    assert read(tmp_path / "run_info.json")["status"] == "interrupted"
    assert not (tmp_path / ".lock").exists()


def _job(folder: Path, overrides: list[str], status: str, acc: float) -> None:
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    block = "final" if status == "finished" else "last"
    (folder / "metrics.json").write_text(json.dumps({"status": status, block: {"acc": acc, "loss": 1 - acc},
                                                     "history": []}))


def test_sweep_report_ranks_finished_jobs_only_and_shows_each_status(tmp_path, capsys):
    from mm_train.commands import main
    _job(tmp_path / "0", ["seed=1"], "finished", 0.90)
    _job(tmp_path / "1", ["seed=2"], "interrupted", 0.99)   # better, but stopped at epoch 1 of 3
    _job(tmp_path / "2", ["seed=3"], "finished", 0.95)
    _job(tmp_path / "3", ["seed=4"], "diverged", 0.10)
    assert main(["sweep", "report", str(tmp_path)]) == 0
    table = [line.split() for line in capsys.readouterr().out.splitlines()[:5]]
    assert table == [["job", "seed", "acc", "loss", "status"],
                     ["2", "3", "0.95", "0.05", "finished"],
                     ["0", "1", "0.9", "0.1", "finished"],
                     ["1", "2", "0.99", "0.01", "interrupted"],
                     ["3", "4", "0.1", "0.9", "diverged"]]
    assert main(["sweep", "report", str(tmp_path), "--all"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:5]] == ["1", "2", "0", "3"]


def test_resume_with_changed_settings_is_refused_naming_them(tmp_path):
    train(tmp_path, "train.epochs=1")
    with pytest.raises(ConfigError) as err:
        train(tmp_path, "train.epochs=2", "resume=auto", "optimizer.momentum=0.8", "seed=3")
    assert str(err.value) == (
        f"resume: the settings differ from the run being resumed ({tmp_path}/config.yaml): "
        "optimizer.momentum (0.9 -> 0.8), seed (42 -> 3) (expected the same settings as that run (train.epochs and "
        "callbacks may change), or resume_changes=allow to continue with the new ones (the earlier config is kept "
        "as config.N.yaml))")
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["optimizer"]["momentum"] == 0.9   # untouched


def test_resume_with_changes_allowed_keeps_the_config_history(tmp_path, capsys):
    train(tmp_path, "train.epochs=1")
    train(tmp_path, "train.epochs=2", "resume=auto", "optimizer.momentum=0.8", "resume_changes=allow")
    assert (f"resume: settings changed (optimizer.momentum, train.epochs); the earlier config is kept as "
            f"{tmp_path}/config.0.yaml") in capsys.readouterr().out
    assert yaml.safe_load((tmp_path / "config.0.yaml").read_text())["optimizer"]["momentum"] == 0.9
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["optimizer"]["momentum"] == 0.8
    metrics = read(tmp_path / "metrics.json")
    assert metrics["status"] == "finished" and [h["epoch"] for h in metrics["history"]] == [1, 2]


@pytest.mark.parametrize("same_second", [False, True])
def test_tensorboard_after_a_resume_keeps_every_eval_point(tmp_path, monkeypatch, same_second):
    """Also when the resumed run opens its event file within the second of the first run's (tensorboardX names
    files by the second and opens them "wb")."""
    import types
    from training_helpers import read_events
    if same_second:
        import tensorboardX.event_file_writer as event_file_writer
        monkeypatch.setattr(event_file_writer, "time", types.SimpleNamespace(time=lambda: 1765000000.0))
    board = "callbacks=[{type: TensorBoard}, {type: ModelCheckpoint}]"
    train(tmp_path, board, "train.epochs=1")
    train(tmp_path, board, "train.epochs=2", "resume=auto")
    scalars = read_events(tmp_path / "tensorboard")
    assert [step for step, _ in scalars["eval/acc"]] == [4, 8]
    # TensorBoard drops every earlier point at or after the resumed run's purge step: it must come after step 4,
    # the resumed-from epoch's evaluation
    from tensorboardX.proto.event_pb2 import Event, SessionLog
    newest = sorted((tmp_path / "tensorboard").glob("events.out.tfevents.*"))[-1].read_bytes()
    events, pos = [], 0
    while pos < len(newest):
        length = int.from_bytes(newest[pos:pos + 8], "little")
        events.append(Event.FromString(newest[pos + 12:pos + 12 + length]))
        pos += 16 + length
    purges = [e.step for e in events if e.HasField("session_log") and e.session_log.status == SessionLog.START]
    assert purges == [5]
