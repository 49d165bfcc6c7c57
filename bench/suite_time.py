"""The test suite's time, file by file, in two checkouts side by side (e.g. before and after a change).

    python bench/suite_time.py --old /path/to/old/checkout [--new .] [--files tests/test_run_errors.py ...]
    python bench/suite_time.py --old ../main --marker "not slow"

For each test file runs ``pytest FILE`` in the old checkout, then at once in the new one (so both see
the same machine load), and prints wall time and CPU time (user + system, the children included:
the ``python run.py`` processes a test starts), the tests run and the ratio new/old. CPU time is the
steadier number on a shared machine; on an idle 2-core machine the wall time is close to it.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_file(checkout: Path, test_file: str, marker: str | None) -> dict:
    """``pytest FILE`` in ``checkout``: wall and CPU seconds, the summary line."""
    command = [sys.executable, "-m", "pytest", test_file, "-q", "-p", "no:cacheprovider"]
    if marker:
        command += ["-m", marker]
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    cpu, start = cpu_of_children(), time.perf_counter()
    done = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - start, cpu_of_children() - cpu
    lines = [line for line in done.stdout.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    return {"wall": wall, "cpu": cpu, "summary": lines[-1].strip("= ") if lines else f"exit {done.returncode}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", type=Path, required=True, help="the checkout to compare against")
    parser.add_argument("--new", type=Path, default=Path("."), help="this checkout (default .)")
    parser.add_argument("--files", nargs="*", help="test files (default: tests/test_*.py of the new checkout)")
    parser.add_argument("--marker", help='a -m expression, e.g. "not slow"')
    args = parser.parse_args()
    files = args.files or sorted(str(p.relative_to(args.new)) for p in (args.new / "tests").glob("test_*.py"))
    print(f"{'file':<34} {'old wall':>9} {'new wall':>9} {'old cpu':>8} {'new cpu':>8} {'cpu new/old':>11}  new tests")
    totals = {"old": [0.0, 0.0], "new": [0.0, 0.0]}
    for test_file in files:
        result = {}
        for side, checkout in (("old", args.old), ("new", args.new)):
            if side == "old" and not (checkout / test_file).is_file():
                result[side] = {"wall": 0.0, "cpu": 0.0, "summary": "(no such file)"}
                continue
            result[side] = run_file(checkout.resolve(), test_file, args.marker)
            totals[side][0] += result[side]["wall"]
            totals[side][1] += result[side]["cpu"]
        old, new = result["old"], result["new"]
        ratio = f"{new['cpu'] / old['cpu']:.2f}" if old["cpu"] else "-"
        print(f"{Path(test_file).name:<34} {old['wall']:9.1f} {new['wall']:9.1f} {old['cpu']:8.1f} {new['cpu']:8.1f} "
              f"{ratio:>11}  {new['summary']}", flush=True)
    (old_wall, old_cpu), (new_wall, new_cpu) = totals["old"], totals["new"]
    print(f"{'total':<34} {old_wall:9.1f} {new_wall:9.1f} {old_cpu:8.1f} {new_cpu:8.1f} "
          f"{new_cpu / old_cpu if old_cpu else 0:11.2f}")


if __name__ == "__main__":
    main()
