"""The framework's cost over plain MindSpore, on the quickstart job.

    python bench/overhead.py [--repeats 5] [--epochs 6]
    python bench/overhead.py --job resnet50_cifar --repeats 3 --epochs 3

Runs ``python run.py +recipe=quickstart`` and ``bench/plain_quickstart.py`` (the
same job by hand) alternately and timestamps their output lines as they arrive
(``--job resnet50_cifar``: that recipe at 32x32 on 320 synthetic CIFAR-10 images,
against ``bench/plain_resnet50.py``):

- start to first step: from process start to the first ``epoch: 1 step: 1`` line;
- steady state: images/s over the step lines of epochs 2 and later, counting only
  intervals within an epoch (evaluation and epoch ends are left out).

Two reference programs run in the same rotation: bare Python (``python -c``) and
``bench/empty_hydra_app.py``; the difference between them is what Hydra alone
costs before any task function runs. Every program runs once untimed first, and
bytecode caching is on (``PYTHONDONTWRITEBYTECODE`` is dropped), as on a user's
install. ``bench/startup_phases.py`` splits run.py's start-up into its phases.
"""
from __future__ import annotations

import argparse
import os
import re
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


def timed_lines(command: list[str]) -> list[tuple[float, str]]:
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines = [(time.perf_counter() - start, line) for line in proc.stdout]
    if proc.wait() != 0:
        raise RuntimeError(f"{command} failed:\n" + "".join(line for _, line in lines[-20:]))
    return lines


def first_step_and_rate(lines: list[tuple[float, str]]) -> tuple[float, float]:
    steps = [(t, int(m.group(1))) for t, line in lines if (m := STEP.match(line))]
    first = steps[0][0]
    intervals = [b[0] - a[0] for a, b in zip(steps, steps[1:]) if a[1] == b[1] and a[1] >= 2]
    return first, BATCH * len(intervals) / sum(intervals)


def job_commands(job: str, epochs: int, tmp: str) -> dict[str, list[str]]:
    monitor = ["callbacks=[{type:LossMonitor,per_print_times:1}]", f"hydra.run.dir={tmp}/run"]
    if job == "quickstart":
        return {"run.py +recipe=quickstart": [sys.executable, "run.py", "+recipe=quickstart",
                                              f"train.epochs={epochs}", *monitor],
                "plain MindSpore script": [sys.executable, "bench/plain_quickstart.py", str(epochs)]}
    cifar = write_cifar10(Path(tmp) / "cifar-10-batches-bin")
    size, limit = 32, 320
    return {"run.py +recipe=resnet50_cifar": [
                sys.executable, "run.py", "+recipe=resnet50_cifar", f"paths.data={tmp}", f"dataset.image_size={size}",
                f"+dataset.train.limit={limit}", f"+dataset.eval.limit={limit // 4}", f"train.epochs={epochs}",
                "lr_schedule.lr_max=0.01", "lr_schedule.lr_init=0.001", *monitor],   # 0.1 diverges on these images
            "plain MindSpore script": [sys.executable, "bench/plain_resnet50.py", str(cifar), str(epochs), str(size),
                                       str(limit)]}


def time_to(lines: list[tuple[float, str]], text: str) -> float:
    return next(t for t, line in lines if line.startswith(text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--job", choices=["quickstart", "resnet50_cifar"], default="quickstart")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        jobs = job_commands(args.job, args.epochs, tmp)
        references = {
            "bare Python (python -c)": ([sys.executable, "-c", "print('ready')"], "ready"),
            "empty Hydra app": ([sys.executable, "bench/empty_hydra_app.py", f"hydra.run.dir={tmp}/empty"],
                                "task function entered"),
        }
        for command in [*jobs.values(), *(c for c, _ in references.values())]:   # warm caches, untimed
            timed_lines(command)
        results = {name: [] for name in jobs}
        ready = {name: [] for name in references}
        for _ in range(args.repeats):
            for name, command in jobs.items():
                results[name].append(first_step_and_rate(timed_lines(command)))
            for name, (command, text) in references.items():
                ready[name].append(time_to(timed_lines(command), text))
    print(f"{'job':<32} {'start->first step (s)':>22} {'steady images/s':>16}   (medians of {args.repeats})")
    medians = {}
    for name, runs in results.items():
        medians[name] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
        print(f"{name:<32} {medians[name][0]:>22.2f} {medians[name][1]:>16.0f}")
    ours, plain = medians.values()
    print(f"{'ratio mm_train / plain':<32} {ours[0] / plain[0]:>22.3f} {ours[1] / plain[1]:>16.3f}")
    print("targets: start->first step ratio <= 1.10, steady images/s ratio >= 0.98\n")
    print(f"{'reference':<32} {'start->task (s)':>22}")
    floor = {name: statistics.median(times) for name, times in ready.items()}
    for name, seconds in floor.items():
        print(f"{name:<32} {seconds:>22.3f}")
    hydra_alone = floor["empty Hydra app"] - floor["bare Python (python -c)"]
    extra = ours[0] - plain[0]
    print(f"run.py over plain: {extra:.2f} s ({extra / plain[0]:.1%} of the plain script's start->first step; "
          f"target 10%), of which an empty Hydra app alone takes {hydra_alone:.2f} s ({hydra_alone / plain[0]:.1%})")


if __name__ == "__main__":
    main()
