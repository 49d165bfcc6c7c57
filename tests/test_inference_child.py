"""mm-train parity of a network whose graph-mode memory the estimate cannot vouch for runs the network in a
child process: when the kernel kills the child (SIGKILL, the out-of-memory killer), the parent prints one
line naming the cause and device.mode=pynative and exits 1, instead of dying silently."""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from migrate_helpers import write_recipe
from test_keras3_files import VGG

FIXTURE = Path(__file__).parent / "fixtures" / "keras3" / "vgg"


@pytest.fixture
def parity_args(tmp_path, monkeypatch):
    """``mm-train parity`` arguments for a tiny Keras VGG (its .keras fixture and outputs)."""
    write_recipe(tmp_path / "recipes", "tiny_vgg", VGG)
    monkeypatch.setenv("MM_TRAIN_RECIPE_PATH", str(tmp_path / "recipes"))
    monkeypatch.delenv("MM_TRAIN_INFERENCE_CHILD", raising=False)
    return ["parity", "+recipe=tiny_vgg", f"init_from={{path: {FIXTURE / 'model.keras'}, rules: keras}}",
            "--input", str(FIXTURE / "x.npy"), "--expected", str(FIXTURE / "y.npy"),
            "--expected64", str(FIXTURE / "y64.npy"), "--nhwc"]


@pytest.fixture
def children(monkeypatch):
    """The child processes parity starts (mm_train.tasks.inference_child's subprocess.run), as (command, env); each
    'exits' with ``children.code``."""
    started = []

    def run(command, env=None, check=False):
        started.append((command, env))
        return subprocess.CompletedProcess(command, run.code)

    run.code, run.started = 0, started
    monkeypatch.setattr("mm_train.tasks.inference_child.subprocess", SimpleNamespace(run=run))
    return run


def little_memory(monkeypatch, available=10**6):
    """1 MB available: even this tiny network's graph compile is beyond what the estimate vouches for."""
    monkeypatch.setattr("mm_train.tasks.inference_memory.available_bytes", lambda: available)


def test_parity_child_killed_by_the_kernel_prints_one_line_naming_pynative(parity_args, children, monkeypatch,
                                                                           capsys):
    from mm_train.commands import main

    little_memory(monkeypatch)
    children.code = -signal.SIGKILL
    code = main(parity_args)
    captured = capsys.readouterr()
    assert code == 1
    [(command, env)] = children.started
    assert command == [sys.executable, "-m", "mm_train.commands", *parity_args]     # the same parity, in a child
    assert env["MM_TRAIN_INFERENCE_CHILD"] == "1"
    line = captured.err.strip().splitlines()[-1]
    assert line.startswith("parity: killed by the kernel (SIGKILL) while running the network in graph mode, most "
                           "likely out of memory (0.0 M parameters, 0.0 GB available); run it again with "
                           "device.mode=pynative"), captured.err
    assert "PASSED" not in captured.out and "FAILED" not in captured.out


@pytest.mark.parametrize("child_code", [0, 1, 2])
def test_parity_exits_as_its_child_did(parity_args, children, monkeypatch, capsys, child_code):
    from mm_train.commands import main

    little_memory(monkeypatch)
    children.code = child_code
    assert main(parity_args) == child_code
    assert len(children.started) == 1 and "killed" not in capsys.readouterr().err


@pytest.mark.parametrize("setting", ["in the child", "pynative", "plenty of memory"])
def test_parity_runs_in_process_when_memory_is_not_in_doubt(parity_args, children, monkeypatch, capsys, setting):
    """The child itself, PyNative (no graph compile) and a network the estimate vouches for: no child."""
    from mm_train.commands import main

    little_memory(monkeypatch, 10**12 if setting == "plenty of memory" else 10**6)
    if setting == "in the child":
        monkeypatch.setenv("MM_TRAIN_INFERENCE_CHILD", "1")
    argv = parity_args[:3] + (["device.mode=pynative"] if setting == "pynative" else []) + parity_args[3:]
    assert main(argv) == 0
    assert children.started == [] and "PASSED" in capsys.readouterr().out


@pytest.mark.slow
def test_parity_child_really_killed_with_sigkill_is_reported(parity_args, monkeypatch, capsys):
    """A real child process, killed with SIGKILL as the kernel's out-of-memory killer does."""
    from mm_train.commands import main

    def killed_run(command, env=None, check=False):
        child = subprocess.Popen(command, env=env)
        child.send_signal(signal.SIGKILL)
        return subprocess.CompletedProcess(command, child.wait())

    little_memory(monkeypatch)
    monkeypatch.setattr("mm_train.tasks.inference_child.subprocess", SimpleNamespace(run=killed_run))
    assert main(parity_args) == 1
    assert "parity: killed by the kernel (SIGKILL)" in capsys.readouterr().err
    monkeypatch.setattr("mm_train.tasks.inference_child.subprocess", subprocess)    # a real child that runs to the end
    assert main(parity_args) == 0
