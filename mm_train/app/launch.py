"""``mm-train launch``: run a recipe on several devices with MindSpore's own launcher, msrun.

    mm-train launch --nproc 8 -- +recipe=resnet50_cifar device=gpu

runs, with this Python environment's ``bin`` first on PATH (msrun starts the ``python`` it finds)::

    msrun --worker_num=8 --local_worker_num=8 --master_addr=127.0.0.1 --master_port=PORT \\
          --node_rank=0 --join=True --cluster_time_out=120 --tail_worker_log=0 \\
          --log_dir=RUN_DIR/msrun run.py +recipe=resnet50_cifar device=gpu

with one run directory for every rank (``MM_TRAIN_RUN_DIR``, read by conf/config.yaml's
``hydra.run.dir``). Rank 0's output is shown; every worker's full output is in
``RUN_DIR/msrun/worker_N.log``. When a worker dies, msrun stops the others; this command
names the rank, shows the end of its log and exits non-zero within ``--grace`` seconds
(msrun itself waits for its scheduler's heartbeat time-out).
"""
from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Sequence

from mm_train.runtime import interruption
from mm_train.core.device import DEFAULTS
from mm_train.core.errors import ConfigError

PROJECT_DIR = Path(__file__).resolve().parents[2]
WORKER_DIED = re.compile(r"Worker process (\d+) exit with exception\. Error code: (-?\d+)")
NOISE = re.compile(r"^\[(WARNING|INFO|DEBUG)\] ")   # MindSpore's C++ log lines (still in worker_N.log)


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("", 0))
        return sock.getsockname()[1]


def run_dir_from(overrides: Sequence[str]) -> str | None:
    for item in overrides:
        if item.startswith(("hydra.run.dir=", "++hydra.run.dir=", "+hydra.run.dir=")):
            return item.split("=", 1)[1]
    return None


WORKER_SCRIPT = "from mm_train.__main__ import main\n\nmain()\n"


def worker_script(run_dir: Path) -> Path:
    """The script msrun starts on each worker: ``run.py`` of a checkout, else (a wheel install) a two-line
    ``RUN_DIR/msrun/run.py`` that calls ``mm_train.__main__`` (msrun takes a script path, not ``-m``)."""
    if (PROJECT_DIR / "run.py").is_file():
        return PROJECT_DIR / "run.py"
    script = Path(run_dir) / "msrun" / "run.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(WORKER_SCRIPT, encoding="utf-8")
    return script


def msrun_command(nproc: int, run_dir: Path, overrides: Sequence[str], master_addr: str = "127.0.0.1",
                  master_port: int = 8118, nnodes: int = 1, node_rank: int = 0, cluster_time_out: int = 120,
                  script: Path = PROJECT_DIR / "run.py") -> list[str]:
    """The msrun command line; ``nproc`` workers on this node, ``nproc * nnodes`` in all.

    >>> msrun_command(2, Path("out"), ["+recipe=quickstart"], master_port=9000)[:3]
    ['msrun', '--worker_num=2', '--local_worker_num=2']
    """
    return ["msrun", f"--worker_num={nproc * nnodes}", f"--local_worker_num={nproc}",
            f"--master_addr={master_addr}", f"--master_port={master_port}", f"--node_rank={node_rank}",
            "--join=True", f"--cluster_time_out={cluster_time_out}", "--tail_worker_log=0",
            f"--log_dir={run_dir / 'msrun'}", str(script), *overrides]


def environment(run_dir: Path) -> dict[str, str]:
    """This Python's ``bin`` first on PATH, the shared run directory, MindSpore's C++ logs at ERROR."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["MM_TRAIN_RUN_DIR"] = str(run_dir)
    env.setdefault("GLOG_v", DEFAULTS["GLOG_v"])
    env.pop("HYDRA_FULL_ERROR", None)
    return env


def _children(pid: int) -> list[int]:
    try:
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
        return found
    except OSError:   # no /proc (not Linux): ranks are named by pid only
        return []


def _rank_of(pid: int) -> int | None:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    values = dict(item.split(b"=", 1) for item in env if b"=" in item)
    if values.get(b"MS_ROLE") != b"MS_WORKER" or b"RANK_ID" not in values:
        return None
    return int(values[b"RANK_ID"])


class Watch:
    """Which worker pid is which rank (msrun's failure message names the pid only)."""

    def __init__(self, msrun: subprocess.Popen):
        self.msrun = msrun
        self.ranks: dict[int, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self):
        while not self.stop.is_set():
            for pid in _children(self.msrun.pid):
                if pid not in self.ranks:
                    rank = _rank_of(pid)
                    if rank is not None:
                        self.ranks[pid] = rank
            self.stop.wait(0.2)

    def kill_all(self):
        """Kill msrun and whatever it started (its workers run in their own sessions)."""
        for pid in _children(self.msrun.pid) + [self.msrun.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def stop_workers(msrun: subprocess.Popen, watch: Watch, signum: int, grace: float) -> None:
    """Pass ``signum`` to the workers (each ends with its record written), then to msrun; kill what is
    left after ``grace`` seconds."""
    workers = _children(msrun.pid)
    for pid in workers:
        try:
            os.kill(pid, signum)
        except OSError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_running(pid) for pid in workers):
        time.sleep(0.1)
    try:
        msrun.send_signal(signum)
        msrun.wait(timeout=max(deadline - time.monotonic(), 1.0))
    except (OSError, subprocess.TimeoutExpired):
        watch.kill_all()
        msrun.wait()
    for pid in workers + [c for pid in workers for c in _children(pid)]:   # msrun may end before its workers
        if _running(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def last_errors(log: Path, lines: int = 8) -> list[str]:
    """The end of a worker's log without MindSpore's C++ noise: usually the error."""
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return []
    text = [line for line in text if line.strip() and not NOISE.match(line)]
    starts = [i for i, line in enumerate(text) if line.startswith(("Traceback", "error:"))]
    return text[starts[-1]:][:lines] if starts else text[-lines:]


def check_config(overrides: Sequence[str]) -> None:
    """Compose and validate the job as a worker would, on the launcher, before msrun starts (ConfigError)."""
    from mm_train.core import device
    from mm_train.config.composition import compose_recipe
    from mm_train.jobs import prepare

    recipes = [o.split("=", 1)[1] for o in overrides if o.startswith("+recipe=")]
    if not recipes:
        raise ConfigError("+recipe=NAME", "no recipe chosen", expected="mm-train launch --nproc N -- +recipe=NAME ...")
    rest = [o for o in overrides if not o.startswith("+recipe=") and not o.lstrip("+~").startswith("hydra.")]
    device.check_target(prepare(compose_recipe(recipes[0], rest))["device"])


def launch(nproc: int, overrides: Sequence[str], master_addr: str = "127.0.0.1", master_port: int | None = None,
           nnodes: int = 1, node_rank: int = 0, cluster_time_out: int = 120, grace: float = 15.0,
           out=sys.stdout) -> int:
    """Run ``run.py OVERRIDES`` on ``nproc`` workers with msrun; the exit code of the job."""
    if nproc < 1 or nnodes < 1 or not 0 <= node_rank < nnodes:
        raise ConfigError("--nproc/--nnodes/--node-rank", f"got {nproc}/{nnodes}/{node_rank}",
                          expected="nproc >= 1, nnodes >= 1, 0 <= node-rank < nnodes")
    given = run_dir_from(overrides)
    if given is None and nnodes > 1:
        raise ConfigError("hydra.run.dir", "a multi-node job needs one run directory named on every node",
                          expected="hydra.run.dir=DIR on a file system every node sees")
    check_config(overrides)
    run_dir = Path(given or datetime.now().strftime("outputs/%Y-%m-%d/%H-%M-%S")).resolve()
    overrides = list(overrides) if given else [*overrides, f"hydra.run.dir={run_dir}"]
    port = master_port or (free_port() if nnodes == 1 else 8118)
    command = msrun_command(nproc, run_dir, overrides, master_addr, port, nnodes, node_rank, cluster_time_out,
                            worker_script(run_dir))
    run_dir.mkdir(parents=True, exist_ok=True)
    print(f"mm-train launch: {nproc * nnodes} workers ({nproc} on this node), run directory {run_dir}\n  "
          + " ".join(command), file=out, flush=True)
    msrun = subprocess.Popen(command, env=environment(run_dir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, bufsize=1, errors="replace")
    watch = Watch(msrun)
    died: tuple[int, int] | None = None
    deadline = None

    def reader():
        nonlocal died
        for line in msrun.stdout:
            found = WORKER_DIED.search(line)
            if found and died is None:
                died = (int(found.group(1)), int(found.group(2)))
            if not NOISE.match(line):
                out.write(line)
                out.flush()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        while msrun.poll() is None:
            if died is not None and deadline is None:
                deadline = time.monotonic() + grace
            if deadline is not None and time.monotonic() > deadline:
                watch.kill_all()   # msrun waits for its scheduler's time-out: do not
                break
            time.sleep(0.2)
    except interruption.Interrupted as stop:   # Ctrl-C: the workers stop too, then one line saying how to continue
        stop_workers(msrun, watch, stop.signum, grace)
        thread.join(timeout=2)
        watch.stop.set()
        interruption.set_phase(f"mm-train launch ({nproc * nnodes} workers)")
        from mm_train.config.run_record import mark_stopped
        mark_stopped(run_dir, "interrupted")   # if rank 0 could not say so itself
        command = " ".join(["mm-train launch", "--nproc", str(nproc), *(
            [f"--nnodes {nnodes} --node-rank {node_rank} --master-addr {master_addr}"] if nnodes > 1 else []),
            "--", *map(shlex.quote, [o for o in overrides if o.lstrip("+~").split("=", 1)[0] not in
                                     ("resume", "overwrite", "hydra.run.dir")]),
            shlex.quote(f"hydra.run.dir={run_dir}"), "resume=auto"])
        from mm_train.runtime.checkpoints import last_checkpoint
        print(interruption.message(stop.signum, run_dir, command, last_checkpoint(run_dir)), file=sys.stderr,
              flush=True)
        return stop.exit_code
    msrun.wait()
    thread.join(timeout=5)
    watch.stop.set()
    if died is None and msrun.returncode == 0:
        print(f"mm-train launch: done, run directory {run_dir}", file=out, flush=True)
        return 0
    if died is None:
        print(f"error: msrun failed ({describe_exit(msrun.returncode)}); logs in {run_dir / 'msrun'}",
              file=sys.stderr, flush=True)
        return 1
    pid, code = died
    rank = watch.ranks.get(pid)
    who = f"rank {rank} (pid {pid})" if rank is not None else f"a worker (pid {pid})"
    log = run_dir / "msrun" / (f"worker_{rank}.log" if rank is not None else "")
    lines = last_errors(log) if rank is not None else []
    print(f"error: {who} died ({describe_exit(code)}); msrun stopped the other workers.\n"
          f"  its log: {log}" + "".join(f"\n  | {line}" for line in lines), file=sys.stderr, flush=True)
    return code if code > 0 else 1
