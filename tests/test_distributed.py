"""Data-parallel training with msrun (2 workers on 127.0.0.1): mm_train/assembly/distributed.py and mm-train launch.

The slow tests share one ``mm-train launch --nproc 2`` run of a BatchNorm-free MLP trained with
plain SGD (Momentum, momentum 0) and compare it with single-process runs on the combined batch.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import ROOT, cli_main, run_main
from mm_train.assembly import distributed
from mm_train.app import launch
from mm_train.core import ranks
from mm_train.core import resolvers
from mm_train.core.ranks import Rank
from mm_train.core.errors import ConfigError

MLP_RECIPE = """\
# @package _global_
# A BatchNorm-free MLP on the bundled digits, plain SGD, no shuffling: data-parallel tests.
dataset:
  type: mindrecord
  columns: {image: image, label: label}
  decode: true
  num_classes: 10
  train:
    path: ${paths.bundled}/digits/train.mindrecord
    batch_size: 8
    shuffle: false
    limit: 64
    transforms:
      - {type: Rescale, rescale: 0.00392156862745098, shift: 0.0}
      - {type: HWC2CHW}
  eval:
    path: ${paths.bundled}/digits/test.mindrecord
    batch_size: 40
    limit: 40
    transforms: ${dataset.train.transforms}
network:
  input_shape: [3, 8, 8]
  layers:
    flatten: {type: Flatten}
    fc1: {type: Dense, out_channels: 32}
    relu: {type: ReLU}
    fc: {type: Dense, out_channels: "${dataset.num_classes}"}
loss: {type: SoftmaxCrossEntropyWithLogits, sparse: true, reduction: mean}
optimizer: {type: Momentum, momentum: 0.0, weight_decay: 0.0}
lr_schedule: {type: constant, lr: 0.5}
train: {epochs: 2}
"""
LONG_RECIPE = """\
# @package _global_
defaults:
  - dp_mlp
  - _self_
train: {epochs: 100000}
callbacks:
  - {type: LossMonitor, per_print_times: 1}
"""


# -- fast: the pieces ------------------------------------------------------------------------

def test_launch_is_detected_from_msrun_and_mpirun_environments():
    assert ranks.launched({"MS_ROLE": "MS_WORKER", "MS_WORKER_NUM": "2", "RANK_ID": "1"})
    assert ranks.launched({"OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_RANK": "3"})
    assert not ranks.launched({})
    assert not ranks.launched({"OMPI_COMM_WORLD_SIZE": "1"})
    assert ranks.local_rank({"DEVICE_ID": "3"}) == 3
    assert ranks.local_rank({"OMPI_COMM_WORLD_LOCAL_RANK": "5", "DEVICE_ID": "0"}) == 5
    assert ranks.local_rank({}) == 0


def test_device_id_is_the_local_rank_on_gpu_and_ascend():
    for target in ("GPU", "Ascend"):
        assert distributed.device_for({"target": target, "device_id": 0}, {"DEVICE_ID": "3"})["device_id"] == 3
        assert distributed.device_for({"target": target, "device_id": 0},
                                      {"OMPI_COMM_WORLD_LOCAL_RANK": "1"})["device_id"] == 1
    assert distributed.device_for({"target": "CPU", "device_id": 0}, {"DEVICE_ID": "3"})["device_id"] == 0


def test_single_process_runs_without_joining_a_job(monkeypatch):
    for var in ("MS_ROLE", "MS_WORKER_NUM", "RANK_SIZE", "OMPI_COMM_WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    assert distributed.configure({"device": {"target": "CPU"}}) == distributed.SINGLE
    assert distributed.SINGLE.is_main and not distributed.SINGLE.distributed


def _dense(seed: int):
    import mindspore as ms
    from mindspore import nn
    ms.set_seed(seed)
    return nn.SequentialCell([nn.Dense(4, 3), nn.Dense(3, 2)])


def test_parameter_comparison_finds_the_parameter_that_differs():
    same, other = _dense(1), _dense(1)
    names, a = distributed.parameter_digests(same)
    _, b = distributed.parameter_digests(other)
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert distributed.mismatched(names, [a, b]) == []
    param = other.trainable_params()[2]
    value = param.asnumpy().copy()
    value.flat[0] = np.nextafter(value.flat[0], np.float32(1))   # one bit of one weight
    import mindspore as ms
    param.set_data(ms.Tensor(value))
    _, c = distributed.parameter_digests(other)
    assert distributed.mismatched(names, [a, c]) == ["1.weight"]
    assert distributed.mismatched(names, [a, a, c]) == ["1.weight"]
    assert distributed.mismatched(names, [a, b]) == []


def test_ranks_starting_from_different_weights_is_an_error(monkeypatch):
    network = _dense(1)
    _, theirs = distributed.parameter_digests(_dense(2))   # another seed on the other rank
    monkeypatch.setattr(distributed, "all_gather_digests", lambda mine, rank: [list(mine), theirs])
    with pytest.raises(ConfigError) as err:
        distributed.check_initial_weights(network, Rank(0, 2))
    assert "seed" in str(err.value) and "start from different weights: 0.weight" in str(err.value)
    monkeypatch.setattr(distributed, "all_gather_digests", lambda mine, rank: [list(mine), list(mine)])
    assert distributed.check_initial_weights(network, Rank(0, 2))["in_sync"] is True


def test_only_printing_callbacks_run_on_other_ranks():
    specs = [{"type": "TimeMonitor"}, {"type": "LossMonitor"}, {"type": "ModelCheckpoint"}]
    assert distributed.callbacks_for(specs, Rank(0, 2)) == specs
    assert [s["type"] for s in distributed.callbacks_for(specs, Rank(1, 2))] == ["TimeMonitor", "LossMonitor"]


def test_learning_rate_is_scaled_by_devices_only_when_asked():
    lr = np.array([0.1, 0.05], dtype=np.float32)
    asked = {"train": {"scale_lr_by_devices": True}}
    np.testing.assert_allclose(distributed.scale_lr(lr, asked, Rank(0, 4)), [0.4, 0.2])
    np.testing.assert_allclose(distributed.scale_lr(lr, {"train": {}}, Rank(0, 4)), [0.1, 0.05])
    np.testing.assert_allclose(distributed.scale_lr(lr, asked, Rank(0, 1)), [0.1, 0.05])


def test_explicit_shards_that_disagree_with_the_launch_warn(caplog):
    with caplog.at_level(logging.WARNING, logger="mm_train.assembly.distributed"):
        distributed.check_shards({"train": {"num_shards": 2, "shard_id": 1}}, Rank(1, 2))
        assert not caplog.records
        distributed.check_shards({"train": {"num_shards": 4, "shard_id": 0}}, Rank(1, 2))
    assert "dataset.train.num_shards=4 / shard_id=0 disagree with the launch (rank 1 of 2)" in caplog.text


def test_rank_log_names_and_hydra_folder_follow_the_launch(monkeypatch):
    for var in ("RANK_ID", "RANK_SIZE", "MS_WORKER_NUM", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    assert resolvers.log_name("run") == "run" and resolvers.main_rank_only(".hydra") == ".hydra"
    monkeypatch.setenv("RANK_ID", "1")
    monkeypatch.setenv("MS_WORKER_NUM", "2")
    assert resolvers.log_name("run") == "rank_1" and resolvers.main_rank_only(".hydra") is None
    monkeypatch.setenv("RANK_ID", "0")
    assert resolvers.log_name("run") == "rank_0" and resolvers.main_rank_only(".hydra") == ".hydra"


def test_msrun_command_line():
    command = launch.msrun_command(4, Path("/runs/a"), ["+recipe=quickstart"], "10.0.0.1", 9000, nnodes=2,
                                   node_rank=1, cluster_time_out=60)
    assert command[:7] == ["msrun", "--worker_num=8", "--local_worker_num=4", "--master_addr=10.0.0.1",
                           "--master_port=9000", "--node_rank=1", "--join=True"]
    assert "--log_dir=/runs/a/msrun" in command and "--cluster_time_out=60" in command
    assert command[-2:] == [str(ROOT / "run.py"), "+recipe=quickstart"]
    assert launch.run_dir_from(["a=1", "hydra.run.dir=/x"]) == "/x"
    with pytest.raises(ConfigError, match="hydra.run.dir"):
        launch.launch(2, ["+recipe=quickstart"], nnodes=2)
    with pytest.raises(ConfigError, match="nproc"):
        launch.launch(0, ["+recipe=quickstart"])


# -- slow: msrun with 2 workers ------------------------------------------------------------

def _launch(*args: str, cwd: Path, recipes: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "MM_TRAIN_RECIPE_PATH": str(recipes)}
    return subprocess.Popen([sys.executable, "-m", "mm_train.commands", "launch", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _weights(run_dir: Path, name: str = "dp_mlp-2_4.ckpt") -> dict[str, np.ndarray]:
    import mindspore as ms
    return {k: v.asnumpy() for k, v in ms.load_checkpoint(str(run_dir / "checkpoints" / name)).items()
            if k.startswith(("fc1.", "fc."))}


@pytest.fixture(scope="module")
def recipes(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dp_recipes")
    (folder / "dp_mlp.yaml").write_text(MLP_RECIPE)
    (folder / "dp_long.yaml").write_text(LONG_RECIPE)
    return folder


@pytest.fixture(scope="module")
def dp_run(tmp_path_factory, recipes):
    """``mm-train launch --nproc 2`` (batch 8 per rank) and single-process runs on batch 16."""
    cwd = tmp_path_factory.mktemp("dp_cwd")
    proc = _launch("--nproc", "2", "--", "+recipe=dp_mlp", cwd=cwd, recipes=recipes)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    runs = list((cwd / "outputs").glob("*/*"))
    assert len(runs) == 1, runs   # one run directory for both ranks
    env = {"MM_TRAIN_RECIPE_PATH": str(recipes)}
    single = tmp_path_factory.mktemp("single")
    summed = tmp_path_factory.mktemp("summed")   # what summed (not averaged) gradients would give
    for folder, extra in ((single, []), (summed, ["lr_schedule.lr=1.0"])):
        done = run_main("+recipe=dp_mlp", "dataset.train.batch_size=16", f"hydra.run.dir={folder}", *extra, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
    return {"dir": runs[0], "out": out, "err": err, "single": single, "summed": summed, "cwd": cwd}


@pytest.mark.slow
def test_trainable_parameters_are_bit_identical_across_ranks(dp_run):
    report = json.loads((dp_run["dir"] / "distributed.json").read_text())
    assert report["world_size"] == 2 and report["in_sync"] is True
    before, after = report["checks"]
    assert (before["when"], after["when"]) == ("before training", "after training")
    for check in (before, after):
        assert check["in_sync"] and check["mismatched"] == [] and check["parameters"] == 4
        assert check["digests"][0] == check["digests"][1]
    assert before["digests"][0] != after["digests"][0]   # training changed the weights, identically
    assert "all 4 trainable parameters are identical on the 2 ranks after training" in \
        (dp_run["dir"] / "rank_1.log").read_text()


@pytest.mark.slow
def test_two_workers_equal_one_process_on_the_combined_batch(dp_run):
    parallel, single, summed = (_weights(dp_run[k]) for k in ("dir", "single", "summed"))
    assert set(parallel) == {"fc1.weight", "fc1.bias", "fc.weight", "fc.bias"}
    for name in parallel:
        np.testing.assert_allclose(parallel[name], single[name], rtol=0, atol=1e-6, err_msg=name)
    # gradients are averaged, not summed: summing equals the single run with twice the learning rate
    assert max(np.abs(parallel[n] - summed[n]).max() for n in parallel) > 1e-3


@pytest.mark.slow
def test_each_rank_reads_its_own_half_of_the_data(dp_run):
    report = json.loads((dp_run["dir"] / "distributed.json").read_text())
    shards = [r["train_shard"] for r in report["ranks"]]
    assert shards == [{"num_shards": 2, "shard_id": 0, "batches_per_epoch": 4},
                      {"num_shards": 2, "shard_id": 1, "batches_per_epoch": 4}]   # 64 samples / 2 ranks / 8
    for rank in (0, 1):
        assert f"rank {rank}/2: train shard {rank} of 2, 4 batches per epoch" in \
            (dp_run["dir"] / f"rank_{rank}.log").read_text()


@pytest.mark.slow
def test_one_run_directory_written_by_rank_0(dp_run):
    run_dir = dp_run["dir"]
    files = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file())
    events = [f for f in files if f.startswith("tensorboard/events.out.tfevents.")]
    assert len(events) == 1                                   # one TensorBoard writer: rank 0's
    assert [f for f in files if f not in events] == [
        ".hydra/config.yaml", ".hydra/hydra.yaml", ".hydra/overrides.yaml",
        "checkpoints/dp_mlp-1_4.ckpt", "checkpoints/dp_mlp-2_4.ckpt",
        "config.yaml", "curves.png", "distributed.json", "metrics.json",
        "msrun/scheduler.log", "msrun/worker_0.log", "msrun/worker_1.log",
        "rank_0.log", "rank_1.log", "run_info.json", "train_loss.csv"]
    assert [p.name for p in dp_run["cwd"].rglob("*") if p.is_dir() and p.parent.name == "outputs"] \
        == [run_dir.parent.name]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    rank1 = (run_dir / "rank_1.log").read_text()
    assert "rank 1/2 (pid" in rank1 and "rank 0/2" not in rank1
    # the terminal shows rank 0's progress, not rank 1's
    assert "rank 0/2: train shard 0 of 2" in dp_run["out"] and "rank 1/2" not in dp_run["out"]
    assert "eval: epoch=2" in dp_run["out"]


@pytest.mark.slow
def test_a_killed_worker_ends_the_job_naming_its_rank(tmp_path, recipes):
    proc = _launch("--nproc", "2", "--", "+recipe=dp_long", f"hydra.run.dir={tmp_path / 'run'}",
                   cwd=tmp_path, recipes=recipes)
    rank_log, worker_log = tmp_path / "run" / "rank_1.log", tmp_path / "run" / "msrun" / "worker_1.log"
    pid = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if pid is None and rank_log.exists():
            found = [line for line in rank_log.read_text().splitlines() if "rank 1/2 (pid " in line]
            pid = int(found[0].split("(pid ")[1].split(",")[0]) if found else None
        if pid is not None and worker_log.exists() and "epoch: 2 step" in worker_log.read_text(errors="replace"):
            break
        time.sleep(0.5)
    assert pid is not None and proc.poll() is None, "rank 1 never started training"
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    elapsed = time.monotonic() - killed
    assert proc.returncode != 0
    assert f"error: rank 1 (pid {pid}) died (killed by SIGKILL)" in err, err[-3000:]
    assert "worker_1.log" in err
    assert elapsed < 60, elapsed
    rank0 = [line for line in (tmp_path / "run" / "rank_0.log").read_text().splitlines() if "rank 0/2 (pid " in line]
    assert _stopped(int(rank0[0].split("(pid ")[1].split(",")[0]))   # the other worker was stopped too


def _stopped(pid: int, wait: float = 10.0) -> bool:
    """Whether ``pid`` is gone (or a zombie awaiting its parent) within ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.2)
    return False


def test_a_config_error_is_reported_once_before_any_worker_starts(tmp_path, recipes):
    """The launcher validates the job first: one message, exit 2, no worker started."""
    result = cli_main("launch", "--nproc", "2", "--", "+recipe=dp_mlp", f"hydra.run.dir={tmp_path / 'run'}",
                      "optimizer.momentun=0.1", cwd=tmp_path, env={"MM_TRAIN_RECIPE_PATH": str(recipes)})
    out, err = result.stdout, result.stderr
    assert result.returncode == 2, out[-2000:] + err[-2000:]
    assert "error: optimizer.momentun: unknown key" in err and "Did you mean 'momentum'?" in err
    assert err.count("error:") == 1 and "died" not in err and "Traceback" not in out + err
    assert not (tmp_path / "run" / "msrun").exists()


@pytest.mark.slow   # msrun starts the script as a process of its own
def test_workers_of_a_wheel_install_start_through_mm_train_main(tmp_path, monkeypatch):
    """msrun takes a script path: without a checkout's run.py the launcher writes one into RUN_DIR/msrun."""
    assert launch.worker_script(tmp_path) == launch.PROJECT_DIR / "run.py"      # a checkout
    monkeypatch.setattr(launch, "PROJECT_DIR", tmp_path / "site-packages")
    script = launch.worker_script(tmp_path / "run")
    assert script == tmp_path / "run" / "msrun" / "run.py"
    assert script.read_text() == "from mm_train.__main__ import main\n\nmain()\n"
    listed = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert listed.returncode == 2 and "no recipe chosen" in listed.stderr       # the Hydra app answered
