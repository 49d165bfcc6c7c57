"""The framework's cost over plain MindSpore, on the quickstart job: the whole job and its parts.

    python bench/overhead.py [--repeats 5] [--epochs 10]
    python bench/overhead.py --job resnet50_cifar --repeats 3 --epochs 2
    python bench/overhead.py --job resnet18_cifar --repeats 3 --epochs 3

Runs ``python run.py +recipe=quickstart`` and ``bench/plain_quickstart.py`` (the
same job by hand: evaluation and a checkpoint every epoch, the last 3 kept)
alternately and timestamps their output lines as they arrive (``--job
resnet50_cifar``: that recipe at 32x32 on 320 synthetic CIFAR-10 images, evaluated
every epoch, against ``bench/plain_resnet50.py``; ``--job resnet18_cifar`` likewise against
its ResNet-18):

- whole job: from process start to process exit (the issue-16 target: run.py within
  0.5 s of the plain script on the 10-epoch quickstart);
- CPU user+sys: the child's own CPU time (``os.wait4``), a check that moves less than
  wall-clock time when other jobs load the machine (MindSpore's idle pool threads spin,
  so it is not the work alone);
- start to first step: from process start to the first ``epoch: 1 step: 1`` line;
- training: from the first step line to the last one;
- after the last step: from the last step line to process exit (last evaluation,
  checkpoint, curves.png, metrics.json, interpreter shutdown);
- steady state: images/s over the step lines of epochs 2 and later, counting only
  intervals within an epoch (evaluation and epoch ends are left out).

A third row runs ``run.py +recipe=quickstart`` exactly as a user does (the recipe's
default callbacks: TimeMonitor, LossMonitor every 10 steps, ModelCheckpoint,
TensorBoard, ProgressBar); only its whole-job time is measured.

Two reference programs run in the same rotation: bare Python (``python -c``) and
``bench/empty_hydra_app.py``; the difference between them is what Hydra alone
costs before any task function runs. Every program runs once untimed first, and
bytecode caching is on (``PYTHONDONTWRITEBYTECODE`` is dropped), as on a user's
install. ``bench/startup_phases.py`` splits run.py's start-up and end into phases.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from mm_train.data.synthetic import write_cifar10  # noqa: E402

STEP = re.compile(r"^epoch: (\d+) step: (\d+),")
BATCH = 32


def child_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def fresh_run_dir(command: list[str]) -> None:
    """Remove the ``hydra.run.dir=`` of a run.py command: each run starts in an empty folder, as a
    user's new run does (run.py refuses a folder holding a finished run's results)."""
    for arg in command:
        if arg.startswith("hydra.run.dir="):
            shutil.rmtree(arg.split("=", 1)[1], ignore_errors=True)


def timed_lines(command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
                ) -> list[tuple[float, str]]:
    """The output lines with their times since process start; the last is (exit time, "<exit> cpu=SECONDS")."""
    fresh_run_dir(command)
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd or ROOT, env=env or child_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = [(time.perf_counter() - start, line) for line in proc.stdout]
    _, status, usage = os.wait4(proc.pid, 0)   # the child's own CPU time (less sensitive to other load)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{command} failed:\n" + "".join(line for _, line in lines[-20:]))
    return [*lines, (time.perf_counter() - start, f"<exit> cpu={usage.ru_utime + usage.ru_stime}")]


def job_times(lines: list[tuple[float, str]]) -> dict[str, float]:
    """start->first step, training (first to last step line), after the last step, whole job (s); images/s."""
    steps = [(t, int(m.group(1))) for t, line in lines if (m := STEP.match(line))]
    whole = lines[-1][0]
    cpu = float(lines[-1][1].split("cpu=")[1])
    if not steps or not any(line.startswith("epoch: 1 step: 1,") for _, line in lines):   # no per-step lines
        return {"whole": whole, "cpu": cpu}
    intervals = [b[0] - a[0] for a, b in zip(steps, steps[1:]) if a[1] == b[1] and a[1] >= 2]
    return {"first": steps[0][0], "train": steps[-1][0] - steps[0][0], "after": whole - steps[-1][0],
            "whole": whole, "cpu": cpu,
            "rate": BATCH * len(intervals) / sum(intervals) if intervals else float("nan")}


def job_commands(job: str, epochs: int, tmp: str, user_row: bool = False) -> dict[str, list[str]]:
    """The compared commands: run.py first, the plain script second (then, optionally, run.py as users run it)."""
    monitor = ["callbacks=[{type:LossMonitor,per_print_times:1}]", f"hydra.run.dir={tmp}/run"]
    if job == "quickstart":
        save = ("callbacks=[{type:LossMonitor,per_print_times:1},"
                "{type:ModelCheckpoint,save_checkpoint_epochs:1,keep_checkpoint_max:3}]")
        jobs = {"run.py +recipe=quickstart": [sys.executable, "run.py", "+recipe=quickstart",
                                              f"train.epochs={epochs}", save, f"hydra.run.dir={tmp}/run"],
                "plain MindSpore script": [sys.executable, "bench/plain_quickstart.py", str(epochs),
                                           f"{tmp}/plain_checkpoints"]}
        if user_row:
            jobs["run.py, the recipe's callbacks"] = [sys.executable, "run.py", "+recipe=quickstart",
                                                      f"train.epochs={epochs}", f"hydra.run.dir={tmp}/user"]
        return jobs
    cifar = write_cifar10(Path(tmp) / "cifar-10-batches-bin")
    size, limit = 32, 320
    return {f"run.py +recipe={job}": [
                sys.executable, "run.py", f"+recipe={job}", f"paths.data={tmp}", f"dataset.image_size={size}",
                f"+dataset.train.limit={limit}", f"+dataset.eval.limit={limit // 4}", f"train.epochs={epochs}",
                "train.eval_interval=1",   # the plain script evaluates every epoch
                "lr_schedule.lr_max=0.01", "lr_schedule.lr_init=0.001", *monitor],   # 0.1 diverges on these images
            "plain MindSpore script": [sys.executable, "bench/plain_resnet50.py", str(cifar), str(epochs), str(size),
                                       str(limit), job.split("_")[0]]}


def time_to(lines: list[tuple[float, str]], text: str) -> float:
    return next(t for t, line in lines if line.startswith(text))


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--job", choices=["quickstart", "resnet50_cifar", "resnet18_cifar"], default="quickstart")
    parser.add_argument("--no-user-row", action="store_true", help="skip run.py with the recipe's own callbacks")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        jobs = job_commands(args.job, args.epochs, tmp, user_row=args.job == "quickstart" and not args.no_user_row)
        references = {
            "bare Python (python -c)": ([sys.executable, "-c", "print('ready')"], "ready"),
            "empty Hydra app": ([sys.executable, "bench/empty_hydra_app.py", f"hydra.run.dir={tmp}/empty"],
                                "task function entered"),
        }
        for command in [*jobs.values(), *(c for c, _ in references.values())]:   # warm caches, untimed
            timed_lines(command)
        results = {name: [] for name in jobs}
        ready = {name: [] for name in references}
        for i in range(args.repeats):
            order = list(jobs.items())
            for name, command in order if i % 2 == 0 else order[::-1]:   # alternate which side goes first
                results[name].append(job_times(timed_lines(command)))
            for name, (command, text) in references.items():
                ready[name].append(time_to(timed_lines(command), text))
    load = os.getloadavg()[0]
    med = statistics.median
    print(f"{args.job}, {args.epochs} epochs: medians of {args.repeats} alternated runs (min-max below each); "
          f"1-min load average at the end {load:.1f} on {os.cpu_count()} cores")
    columns = [("whole", "whole job (s)", "{:.2f}"), ("cpu", "CPU user+sys (s)", "{:.2f}"),
               ("first", "start->1st step", "{:.2f}"),
               ("train", "training (s)", "{:.2f}"), ("after", "after last step", "{:.2f}"),
               ("rate", "steady img/s", "{:.0f}")]
    print(f"{'job':<34}" + "".join(f"{title:>17}" for _, title, _ in columns))
    medians = {}
    for name, runs in results.items():
        medians[name] = {key: med(r[key] for r in runs) for key, _, _ in columns if key in runs[0]}
        print(f"{name:<34}" + "".join(f"{fmt.format(medians[name][key]):>17}" if key in medians[name] else
                                      f"{'':>17}" for key, _, fmt in columns))
        print(f"{'  min-max':<34}" + "".join(f"{spread([r[key] for r in runs]):>17}" if key in runs[0] else
                                            f"{'':>17}" for key, _, _ in columns))
    names = list(medians)
    ours, plain = medians[names[0]], medians[names[1]]
    print(f"{'difference run.py - plain (s)':<34}" + "".join(
        f"{ours[k] - plain[k]:>17.2f}" if k != "rate" else f"{'':>17}" for k, _, _ in columns))
    print(f"{'ratio run.py / plain':<34}" + "".join(f"{ours[k] / plain[k]:>17.3f}" for k, _, _ in columns))
    paired = [a["whole"] - b["whole"] for a, b in zip(results[names[0]], results[names[1]])]
    print(f"whole job, run.py - plain, per alternated pair: median {med(paired):.2f} s, "
          f"range {spread(paired)} s; target <= 0.5 s (quickstart), ratio <= 1.05 (resnet50_cifar)")
    if args.job != "quickstart":
        print(f"steady state, run.py / plain images/s: {ours['rate'] / plain['rate']:.2f}x "
              "(goal on resnet18_cifar: >= 1.2x)")
    print(f"\n{'reference':<34} {'start->task (s)':>16}")
    floor = {name: med(times) for name, times in ready.items()}
    for name, seconds in floor.items():
        print(f"{name:<34} {seconds:>16.3f}")
    hydra_alone = floor["empty Hydra app"] - floor["bare Python (python -c)"]
    print(f"an empty Hydra app alone costs {hydra_alone:.2f} s over bare Python before its task runs")


if __name__ == "__main__":
    main()
