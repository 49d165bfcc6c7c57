"""A run directory belongs to one run: a lock for the run's life, and no silent reuse of old results.

    with claim(run_dir, config, rank, keeps_results):     # RUN_DIR/.lock (pid, host, start) held by rank 0
        ...                                # train; the lock is removed at the end

A second run into a locked directory stops with exit 2 naming the holder; a lock whose process
is gone (same host, pid not running) is taken over. A directory that already holds results
(``metrics.json``, ``checkpoints/*.ckpt``) needs ``resume=auto|PATH`` to continue that run, or
``overwrite=true``, which first moves the old results into ``RUN_DIR/previous-TIMESTAMP/``.
Under msrun / mpirun only rank 0 takes the lock (every rank shares the directory).
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Any, Iterator, Mapping

from mm_train.core.errors import ConfigError
from mm_train.core.ranks import Rank

LOCK = ".lock"
RESULTS = ("metrics.json", "checkpoints", "config.yaml", "run_info.json", "curves.png", "train_loss.csv",
           "tensorboard", "distributed.json")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _take(lock: Path) -> bool:
    """Create ``lock`` exclusively with this process's pid, host and start time."""
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        json.dump({"pid": os.getpid(), "host": socket.gethostname(),
                   "started": time.strftime("%Y-%m-%d %H:%M:%S")}, f)
    return True


def _holder(lock: Path) -> dict[str, Any]:
    try:
        data = json.loads(lock.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def dir_key() -> str:
    """The key that chose the run directory: ``hydra.sweep.dir`` for a job of a sweep (``-m``), else
    ``hydra.run.dir`` (a job's directory is ``hydra.sweep.dir/hydra.sweep.subdir``)."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode
        multirun = HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
    except Exception:  # noqa: BLE001 - outside Hydra (the job API): a run
        multirun = False
    return "hydra.sweep.dir" if multirun else "hydra.run.dir"


def acquire(run_dir: Path) -> Path:
    """Take ``RUN_DIR/.lock``; a ConfigError naming the holder if a running process has it."""
    lock = Path(run_dir) / LOCK
    for _ in range(3):
        if _take(lock):
            return lock
        holder = _holder(lock)
        pid, host = holder.get("pid"), holder.get("host")
        if isinstance(pid, int) and host == socket.gethostname() and not _alive(pid):
            print(f"run dir: taking over {lock} left by pid {pid} (no longer running)", flush=True)
            lock.unlink(missing_ok=True)
            continue
        raise ConfigError(dir_key(), f"{run_dir} is in use by another run (pid {pid} on {host}, "
                          f"started {holder.get('started')})",
                          expected=f"another {dir_key()}, or wait for that run to end (if it is gone, "
                          f"remove {lock})")
    raise ConfigError(dir_key(), f"cannot take {lock}", expected="a run directory no other run is starting")


def old_results(run_dir: Path) -> list[str]:
    """The results of an earlier run in ``run_dir``: metrics.json, checkpoints."""
    run_dir = Path(run_dir)
    found = ["metrics.json"] if (run_dir / "metrics.json").is_file() else []
    if any((run_dir / "checkpoints").glob("*.ckpt")):
        found.append("checkpoints/")
    return found


def move_aside(run_dir: Path) -> Path:
    """Move the results of an earlier run into ``RUN_DIR/previous-TIMESTAMP/``; that folder."""
    run_dir = Path(run_dir)
    target = run_dir / time.strftime("previous-%Y%m%d-%H%M%S")
    n = 1
    while target.exists():
        target, n = run_dir / f"{target.name.split('.')[0]}.{n}", n + 1
    target.mkdir()
    for name in RESULTS:
        if (run_dir / name).exists():
            os.replace(run_dir / name, target / name)
    print(f"overwrite=true: the earlier results of {run_dir} are in {target}", flush=True)
    return target


def check_results(run_dir: Path, config: Mapping[str, Any], keeps_results: bool = True) -> None:
    """Refuse to start over an earlier run's results unless ``resume`` or ``overwrite`` says what to do
    (for a task that keeps results: ``TASKS`` meta ``keeps_results``)."""
    if not keeps_results or config.get("resume"):
        return
    found = old_results(run_dir)
    if not found:
        return
    if config.get("overwrite") is True:
        move_aside(run_dir)
        return
    raise ConfigError(dir_key(), f"{run_dir} already holds the results of a run ({', '.join(found)})",
                      expected="resume=auto to continue that run, overwrite=true to move its results into "
                      f"{Path(run_dir) / 'previous-TIMESTAMP'}/ first, or another {dir_key()}")


def check_free(run_dir: Path, config: Mapping[str, Any], keeps_results: bool = True) -> None:
    """Refuse, before anything is written into ``run_dir`` (run.log included), what :func:`claim` would refuse:
    a lock held by a running process, or results without ``resume``/``overwrite``. Nothing is taken."""
    run_dir = Path(run_dir)
    holder = _holder(run_dir / LOCK) if (run_dir / LOCK).exists() else {}
    pid, host = holder.get("pid"), holder.get("host")
    if holder and not (isinstance(pid, int) and host == socket.gethostname() and not _alive(pid)):
        raise ConfigError(dir_key(), f"{run_dir} is in use by another run (pid {pid} on {host}, "
                          f"started {holder.get('started')})",
                          expected=f"another {dir_key()}, or wait for that run to end (if it is gone, "
                          f"remove {run_dir / LOCK})")
    if config.get("overwrite") is not True:
        check_results(run_dir, config, keeps_results)


@contextlib.contextmanager
def claim(run_dir: Path, config: Mapping[str, Any], rank: Rank, keeps_results: bool = True) -> Iterator[None]:
    """Hold ``run_dir`` for this run (rank 0 locks; every rank checks for earlier results)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = acquire(run_dir) if rank.is_main else None
    try:
        if rank.is_main:
            check_results(run_dir, config, keeps_results)
        yield
    finally:
        if lock is not None and _holder(lock).get("pid") == os.getpid():
            lock.unlink(missing_ok=True)
