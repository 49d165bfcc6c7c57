"""The framework's cost over plain MindSpore, on the quickstart job.

    python bench/overhead.py [--repeats 5] [--epochs 6]

Runs ``python run.py +recipe=quickstart`` and ``bench/plain_quickstart.py`` (the
same job by hand) alternately and timestamps their output lines as they arrive:

- start to first step: from process start to the first ``epoch: 1 step: 1`` line;
- steady state: images/s over the step lines of epochs 2 and later, counting only
  intervals within an epoch (evaluation and epoch ends are left out).
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
STEP = re.compile(r"^epoch: (\d+) step: (\d+),")
BATCH = 32


def timed_lines(command: list[str]) -> list[tuple[float, str]]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = [(time.perf_counter() - start, line) for line in proc.stdout]
    if proc.wait() != 0:
        raise RuntimeError(f"{command} failed:\n" + "".join(line for _, line in lines[-20:]))
    return lines


def summarise(lines: list[tuple[float, str]]) -> tuple[float, float]:
    steps = [(t, int(m.group(1))) for t, line in lines if (m := STEP.match(line))]
    first = steps[0][0]
    intervals = [b[0] - a[0] for a, b in zip(steps, steps[1:]) if a[1] == b[1] and a[1] >= 2]
    return first, BATCH * len(intervals) / sum(intervals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "run.py +recipe=quickstart": [
                sys.executable, "run.py", "+recipe=quickstart", f"train.epochs={args.epochs}",
                "callbacks=[{type:LossMonitor,per_print_times:1}]", f"hydra.run.dir={tmp}/run"],
            "plain MindSpore script": [sys.executable, "bench/plain_quickstart.py", str(args.epochs)],
        }
        results = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, command in commands.items():
                results[name].append(summarise(timed_lines(command)))
    print(f"{'job':<28} {'start->first step (s)':>22} {'steady images/s':>16}   (medians of {args.repeats})")
    medians = {}
    for name, runs in results.items():
        medians[name] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
        print(f"{name:<28} {medians[name][0]:>22.2f} {medians[name][1]:>16.0f}")
    ours, plain = medians.values()
    print(f"{'ratio mm_train / plain':<28} {ours[0] / plain[0]:>22.3f} {ours[1] / plain[1]:>16.3f}")
    print("targets: start->first step ratio <= 1.10, steady images/s ratio >= 0.98")


if __name__ == "__main__":
    main()
