"""A run refused because its run directory is in use or holds results leaves the owner's .hydra/ record as it
was; a run directory that is a file or cannot be written is one message, exit 2, no traceback."""
from __future__ import annotations

import errno
import pathlib

import pytest

from mm_train.__main__ import main as run_main

FAST = ["+recipe=quickstart", "debug=fast", "train.epochs=1"]


def _run(argv, capsys):
    try:
        code = run_main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    return code, capsys.readouterr()


def _finished(run_dir, seed):
    """A run directory as a finished run leaves it: results and the owner's .hydra/ record."""
    (run_dir / ".hydra").mkdir(parents=True)
    for name in ("config.yaml", "hydra.yaml"):
        (run_dir / ".hydra" / name).write_text(f"owner's {name}\n")
    (run_dir / ".hydra" / "overrides.yaml").write_text(f"- seed={seed}\n")
    (run_dir / "metrics.json").write_text('{"final": {"acc": 0.9}}')
    return {p.name: p.read_text() for p in (run_dir / ".hydra").iterdir()}


def test_the_hydra_record_is_written_once_the_run_holds_its_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _ = _run([*FAST, "task=summary", "seed=5", f"hydra.run.dir={tmp_path / 'run'}"], capsys)
    assert code == 0
    record = tmp_path / "run" / ".hydra"
    assert sorted(p.name for p in record.iterdir()) == ["config.yaml", "hydra.yaml", "overrides.yaml"]
    assert "seed=5" in (record / "overrides.yaml").read_text() and "recipe: quickstart" in (record / "hydra.yaml").read_text()


def test_a_refused_run_leaves_the_owners_hydra_record(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "finished"
    record = _finished(run_dir, 1)
    code, out = _run([*FAST, "seed=7", f"hydra.run.dir={run_dir}"], capsys)
    assert code == 2 and "already holds the results of a run" in out.err
    assert {p.name: p.read_text() for p in (run_dir / ".hydra").iterdir()} == record
    assert sorted(p.name for p in run_dir.iterdir()) == [".hydra", "metrics.json"]   # no run.log either
    (run_dir / ".lock").write_text('{"pid": 1, "host": "elsewhere", "started": "today"}')
    code, out = _run([*FAST, "seed=9", "resume=auto", f"hydra.run.dir={run_dir}"], capsys)
    assert code == 2 and "is in use by another run" in out.err
    assert {p.name: p.read_text() for p in (run_dir / ".hydra").iterdir()} == record


def test_a_second_sweep_into_the_same_folder_is_refused_without_touching_its_jobs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    sweep = tmp_path / "sweep"
    record = _finished(sweep / "0", 1)
    (sweep / "multirun.yaml").write_text("the first sweep's\n")
    code, out = _run(["-m", *FAST, "seed=3", f"hydra.sweep.dir={sweep}"], capsys)
    assert code == 2 and f"hydra.sweep.dir: {sweep} already holds the results of a sweep (jobs 0)" in out.err
    assert "Traceback" not in out.err
    assert {p.name: p.read_text() for p in (sweep / "0" / ".hydra").iterdir()} == record
    assert (sweep / "multirun.yaml").read_text() == "the first sweep's\n" and not (sweep / ".lock").exists()


def test_a_sweep_into_a_folder_another_sweep_holds_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / ".lock").write_text('{"pid": 1, "host": "elsewhere", "started": "today"}')
    code, out = _run(["-m", *FAST, "seed=3", f"hydra.sweep.dir={sweep}"], capsys)
    assert code == 2 and "hydra.sweep.dir: " in out.err and "is in use by another run (pid 1 on elsewhere" in out.err
    assert sorted(p.name for p in sweep.iterdir()) == [".lock"]


def test_a_job_of_a_sweep_refused_by_its_results_leaves_its_record(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    sweep = tmp_path / "sweep"
    record = _finished(sweep / "0", 1)
    code, out = _run(["-m", *FAST, "seed=3", "resume=null,null", f"hydra.sweep.dir={sweep}"], capsys)
    assert code == 2 and "already holds the results of a run" in out.err and "Traceback" not in out.err
    assert {p.name: p.read_text() for p in (sweep / "0" / ".hydra").iterdir()} == record


def test_a_run_dir_that_is_a_file_is_one_message(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("mine\n")
    for target, fragment in (("afile", "afile is a file, not a directory"),
                             ("afile/run", "afile is a file, not a directory (for ")):
        code, out = _run([*FAST, f"hydra.run.dir={tmp_path / target}"], capsys)
        assert code == 2 and "Traceback" not in out.err
        assert f"hydra.run.dir: {tmp_path}/{fragment}" in out.err, out.err
    assert (tmp_path / "afile").read_text() == "mine\n"


def test_a_read_only_run_dir_is_one_message(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    read_only = tmp_path / "ro"
    real_mkdir = pathlib.Path.mkdir

    def mkdir(self, *args, **kwargs):   # a read-only file system (EROFS) below tmp_path/ro
        if str(self).startswith(str(read_only)):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "mkdir", mkdir)
    code, out = _run([*FAST, f"hydra.run.dir={read_only / 'run'}"], capsys)
    assert code == 2 and "Traceback" not in out.err
    assert f"hydra.run.dir: cannot write {read_only / 'run'}: Read-only file system" in out.err, out.err
