"""run.py's and mm-train's ``main(argv)`` run in the test process as they run in a process of their own.

Most tests run the entry points this way (helpers.run_main, helpers.cli_main): one MindSpore load for
the whole session instead of one per command. These tests show that it is the same command: the exit
code and message of a user error, the output, and nothing left behind for the next test.
"""
from __future__ import annotations

import logging
import os
import sys

import pytest

from helpers import cli_main, run_main


def test_a_user_error_exits_2_from_main_with_one_message(monkeypatch, capsys, tmp_path):
    from mm_train.__main__ import main
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["run.py"])
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")   # main sets it for Hydra; monkeypatch puts it back
    with pytest.raises(SystemExit) as exit_:
        main(["+recipe=quickstrat"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "error: +recipe=quickstrat: no recipe named 'quickstrat'" in err and "Did you mean 'quickstart'?" in err
    assert "Traceback" not in err


def test_mm_train_main_returns_the_exit_code(capsys):
    from mm_train.commands import main
    assert main(["recipes", "show", "quickstrt"]) == 2
    assert "error: NAME: no recipe named 'quickstrt'" in capsys.readouterr().err


def _process_state():
    import mindspore as ms
    from hydra.core.global_hydra import GlobalHydra
    root = logging.getLogger()
    return {"environ": dict(os.environ), "cwd": os.getcwd(), "argv": list(sys.argv), "mode": ms.get_context("mode"),
            "root handlers": list(root.handlers), "root level": root.level,
            "hydra": GlobalHydra.instance().is_initialized()}


def test_an_in_process_run_leaves_the_process_as_it_found_it(tmp_path):
    before = _process_state()
    result = run_main("+recipe=quickstart", "debug=fast", "device.mode=pynative", f"hydra.run.dir={tmp_path / 'run'}",
                      cwd=tmp_path, env={"MM_TRAIN_DATA": str(tmp_path / "data")})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"run directory: {tmp_path / 'run'}" in result.stdout            # what the run printed, captured
    assert "final metrics: acc=" in (tmp_path / "run" / "run.log").read_text()
    assert _process_state() == before


def test_an_unexpected_exception_is_a_traceback_and_exit_1(monkeypatch):
    from mm_train import commands

    def broken(argv):
        raise RuntimeError("a bug")

    monkeypatch.setattr(commands, "main", broken)
    result = cli_main("recipes", "ls")
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "RuntimeError: a bug" in result.stderr
