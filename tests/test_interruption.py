"""Ctrl-C (SIGINT) and SIGTERM sent to real runs at each phase: one line saying what was interrupted, the
last complete checkpoint and the command that continues the run, exit 128 + signal, no traceback, the
run's record says "interrupted", and the printed command, pasted, resumes the run.

The process boundary is the point here, so these start processes (marked slow). Phases that last a few
milliseconds (a checkpoint write, an evaluation) are hit by a wrapper of run.py that sends the signal to
its own process from inside that phase; the others get it from the test, as a user's Ctrl-C would.
"""
from __future__ import annotations

import json
import re
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from helpers import ROOT, read_metrics

pytestmark = pytest.mark.slow

# 64 digits, 4 steps an epoch; a checkpoint every epoch
SMALL = ["+recipe=quickstart", "+dataset.train.limit=64", "dataset.train.batch_size=16", "+dataset.eval.limit=32",
         "train.epochs=3"]

SIGNALLER = textwrap.dedent("""
    # run.py (or mm_train.commands), sending this process SIGNAL from inside one phase: checkpoint, eval, convert
    import os, runpy, signal, sys, time
    from mm_train.runtime import interruption
    interruption.install()   # as run.py does, before MindSpore starts its threads
    phase, sig = os.environ["SIGNAL_AT"], getattr(signal, os.environ["SIGNAL"])

    def signalled(original):
        def wrapper(*args, **kwargs):
            os.kill(os.getpid(), sig)
            time.sleep(0.5)    # the signal arrives while the phase runs
            return original(*args, **kwargs)
        return wrapper

    if phase == "checkpoint":       # during MindSpore's write of the temporary file
        import mindspore
        mindspore.save_checkpoint = signalled(mindspore.save_checkpoint)
    elif phase == "eval":
        from mindspore.train import Model
        Model.eval = signalled(Model.eval)
    elif phase == "convert":        # after the first samples are written
        from mindspore.mindrecord import FileWriter
        original = FileWriter.write_raw_data
        def write_then_signal(self, *args, **kwargs):
            done = original(self, *args, **kwargs)
            os.kill(os.getpid(), sig)
            time.sleep(0.5)
            return done
        FileWriter.write_raw_data = write_then_signal
    sys.argv = sys.argv[1:]
    if sys.argv[0] == "-m":
        sys.argv = sys.argv[1:]
        runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
    else:
        runpy.run_path(sys.argv[0], run_name="__main__")
""")


def _env() -> dict:
    env = dict(os.environ)
    env.pop("HYDRA_FULL_ERROR", None)
    return env


def run_signalled(at: str, sig: str, *args: str) -> subprocess.CompletedProcess:
    """``python run.py ARGS`` (or ``-m mm_train.commands ARGS``) that signals itself during phase ``at``."""
    script = Path(tempfile.mkdtemp(prefix="mm_train_signaller_")) / "signaller.py"
    script.write_text(SIGNALLER)
    target = ["-m", *args] if args[0] == "mm_train.commands" else [str(ROOT / "run.py"), *args]
    return subprocess.run([sys.executable, str(script), *target], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**_env(), "SIGNAL_AT": at, "SIGNAL": sig})


def convert_signalled(tmp_path: Path, sig: str) -> subprocess.CompletedProcess:
    """``mm-train data convert`` of a small image folder (tmp_path/folder) into tmp_path/f.mindrecord in 2
    shards, sent ``sig`` after its first samples are written."""
    from mm_train.data.synthetic import write_image_folder
    write_image_folder(tmp_path / "folder", 12, usage="val", classes=3)
    return run_signalled("convert", sig, "mm_train.commands", "data", "convert", "image_folder",
                         str(tmp_path / "folder"), str(tmp_path / "f.mindrecord"), "--usage", "val", "--shards", "2")


def run_until(marker: str, sig: int, *overrides: str) -> subprocess.CompletedProcess:
    """``python run.py OVERRIDES``, sent ``sig`` from outside as soon as a line holding ``marker`` appears."""
    process = subprocess.Popen([sys.executable, str(ROOT / "run.py"), *overrides], cwd=ROOT, env=_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in process.stdout:
        seen.append(line)
        if marker in line:
            process.send_signal(sig)
            break
    out, err = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, "".join(seen) + out, err)


def the_line(result: subprocess.CompletedProcess) -> str:
    """The one line an interrupted run ends with (and no traceback anywhere)."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    lines = [line for line in result.stderr.splitlines() if line.startswith("interrupted (")]
    assert len(lines) == 1, result.stderr
    assert result.stderr.rstrip().endswith(lines[0]), result.stderr   # the last thing said
    return lines[0]


def paste(command: str) -> subprocess.CompletedProcess:
    """Run a printed ``python run.py ...`` command as a user pastes it (in the folder it was printed in)."""
    argv = shlex.split(command)
    assert argv[:2] == ["python", "run.py"], command
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *argv[2:]], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=600)


def no_stray_files(run_dir: Path) -> None:
    strays = [p.name for p in run_dir.rglob("*") if p.name.startswith(".tmp") or p.suffix == ".tmp"]
    assert strays == [], strays
    assert not (run_dir / ".lock").exists()


def test_ctrl_c_during_a_training_step_names_the_checkpoint_and_the_pasted_command_resumes(tmp_path):
    run_dir = tmp_path / "q"
    result = run_until("epoch: 2 step: 2,", signal.SIGINT, *SMALL, "callbacks.1.per_print_times=1",
                       f"hydra.run.dir={run_dir}")
    assert result.returncode == 130, result.stderr
    line = the_line(result)
    command = (f"python run.py +recipe=quickstart +dataset.train.limit=64 dataset.train.batch_size=16 "
               f"+dataset.eval.limit=32 train.epochs=3 callbacks.1.per_print_times=1 hydra.run.dir={run_dir} "
               "resume=auto")
    # the signal follows the marker line; on a busy machine the run may have finished another epoch by then
    assert re.match(r"interrupted \(SIGINT\) during (training \(|the evaluation after epoch )", line), line
    found = re.search(r"; last complete checkpoint: (\S+); continue with: (.*)$", line)
    assert found and found.group(2) == command, line
    ckpt = Path(found.group(1))
    epoch = int(re.fullmatch(r"quickstart-(\d+)_4\.ckpt", ckpt.name).group(1))
    assert ckpt.parent == run_dir / "checkpoints" and ckpt.is_file() and 1 <= epoch < 3, line
    assert f"run directory: {run_dir}" in result.stdout.splitlines()[1]   # said at the start
    assert line in (run_dir / "run.log").read_text()
    record = read_metrics(run_dir)
    assert record["status"] == "interrupted" and "final" not in record and record["ended"]
    assert json.loads((run_dir / "run_info.json").read_text())["status"] == "interrupted"
    no_stray_files(run_dir)

    resumed = paste(command)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resume: {ckpt} (epoch {epoch}, step {4 * epoch})" in resumed.stdout
    record = read_metrics(run_dir)
    assert record["status"] == "finished" and [h["epoch"] for h in record["history"]] == [1, 2, 3]


def test_ctrl_c_during_start_up_is_one_line_not_a_traceback(tmp_path):
    run_dir = tmp_path / "s"
    result = run_until("run directory:", signal.SIGINT, *SMALL, f"hydra.run.dir={run_dir}")
    assert result.returncode == 130, result.stderr
    line = the_line(result)
    assert line.startswith("interrupted (SIGINT) during start-up"), line
    assert line.endswith(f"; no checkpoint written yet; continue with: python run.py {' '.join(SMALL)} "
                         f"hydra.run.dir={run_dir} resume=auto"), line


def test_sigterm_during_evaluation_exits_143_and_records_it(tmp_path):
    run_dir = tmp_path / "e"
    result = run_signalled("eval", "SIGTERM", *SMALL, f"hydra.run.dir={run_dir}")
    assert result.returncode == 143, result.stderr
    line = the_line(result)
    assert line.startswith("interrupted (SIGTERM) during the evaluation after epoch 1; no checkpoint written yet; "
                           "continue with: python run.py "), line
    assert read_metrics(run_dir)["status"] == "interrupted"
    no_stray_files(run_dir)


def test_ctrl_c_during_a_checkpoint_write_finishes_the_file_and_names_it(tmp_path):
    run_dir = tmp_path / "c"
    result = run_signalled("checkpoint", "SIGINT", *SMALL, f"hydra.run.dir={run_dir}")
    assert result.returncode == 130, result.stderr
    line = the_line(result)
    assert line.startswith("interrupted (SIGINT) during the writing of checkpoint quickstart-1_4.ckpt; "
                           f"last complete checkpoint: {run_dir}/checkpoints/quickstart-1_4.ckpt; "), line
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["quickstart-1_4.ckpt"]
    no_stray_files(run_dir)
    resumed = paste(line.split("continue with: ", 1)[1])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert read_metrics(run_dir)["status"] == "finished"


def test_ctrl_c_during_data_convert_removes_the_partial_output(tmp_path):
    result = convert_signalled(tmp_path, "SIGINT")
    assert result.returncode == 130, result.stderr
    line = the_line(result)
    assert line == (f"interrupted (SIGINT) during data convert (writing {tmp_path}/f.mindrecord); removed the "
                    f"partial output {tmp_path}/f.mindrecord0, {tmp_path}/f.mindrecord1"), line   # no .db yet
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_to_launch_stops_the_workers_and_says_how_to_continue(tmp_path, sig):
    run_dir = tmp_path / "l"
    process = subprocess.Popen([sys.executable, "-m", "mm_train.commands", "launch", "--nproc", "2", "--", *SMALL,
                                "train.epochs=30", f"hydra.run.dir={run_dir}"], cwd=ROOT, env=_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = run_dir / "msrun" / "worker_0.log"
    for _ in range(600):   # until rank 0 trains
        if log.is_file() and "before training" in log.read_text(errors="replace"):
            break
        time.sleep(0.2)
    process.send_signal(sig)
    out, err = process.communicate(timeout=120)
    result = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    assert result.returncode == 128 + sig, err
    line = the_line(result)
    assert line.startswith(f"interrupted ({sig.name}) during mm-train launch (2 workers); "), line
    assert line.endswith(f"continue with: mm-train launch --nproc 2 -- {' '.join(SMALL)} train.epochs=30 "
                         f"hydra.run.dir={run_dir} resume=auto"), line
    assert read_metrics(run_dir)["status"] == "interrupted"
    leftover = subprocess.run(["pgrep", "-f", str(run_dir)], capture_output=True, text=True).stdout.split()
    assert leftover == [], leftover


# Each phase above with the other signal: SIGTERM where the tests above send Ctrl-C, and the reverse.
FROM_OUTSIDE = [("run directory:", "start-up"), ("epoch: 2 step: 2,", "training (")]
FROM_INSIDE = [("eval", "SIGINT", "the evaluation after epoch 1"),
               ("checkpoint", "SIGTERM", "the writing of checkpoint quickstart-1_4.ckpt")]


@pytest.mark.parametrize("marker, phase", FROM_OUTSIDE, ids=["start-up", "train step"])
def test_sigterm_from_outside_ends_the_phase_with_its_line_and_exit_143(tmp_path, marker, phase):
    run_dir = tmp_path / "t"
    result = run_until(marker, signal.SIGTERM, *SMALL, "callbacks.1.per_print_times=1", f"hydra.run.dir={run_dir}")
    assert result.returncode == 143, result.stderr
    line = the_line(result)
    assert line.startswith(f"interrupted (SIGTERM) during {phase}") or (   # a busy machine: the next eval
        phase == "training (" and line.startswith("interrupted (SIGTERM) during the evaluation after epoch")), line
    assert line.endswith(f"hydra.run.dir={run_dir} resume=auto"), line
    if (run_dir / "metrics.json").exists():   # start-up may end before the record is opened
        assert read_metrics(run_dir)["status"] == "interrupted"
    no_stray_files(run_dir)


@pytest.mark.parametrize("at, sig, phase", FROM_INSIDE, ids=["eval SIGINT", "checkpoint SIGTERM"])
def test_the_other_signal_inside_a_phase_ends_it_the_same_way(tmp_path, at, sig, phase):
    run_dir = tmp_path / "o"
    result = run_signalled(at, sig, *SMALL, f"hydra.run.dir={run_dir}")
    assert result.returncode == 128 + getattr(signal, sig), result.stderr
    line = the_line(result)
    assert line.startswith(f"interrupted ({sig}) during {phase}"), line
    assert read_metrics(run_dir)["status"] == "interrupted"
    no_stray_files(run_dir)


def test_sigterm_during_data_convert_removes_the_partial_output(tmp_path):
    result = convert_signalled(tmp_path, "SIGTERM")
    assert result.returncode == 143, result.stderr
    assert the_line(result).startswith("interrupted (SIGTERM) during data convert"), result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]
