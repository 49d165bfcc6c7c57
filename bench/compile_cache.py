"""The graph compile cache (``device.compile_cache``): a repeated ResNet-50 job against a cold one.

    python bench/compile_cache.py [--repeats 3] [--epochs 1] [--job resnet50_cifar|quickstart]

Runs ``run.py +recipe=resnet50_cifar`` (32x32, 320 synthetic CIFAR-10 images, as
bench/overhead.py does) three ways, alternating:

- cache off: ``device.compile_cache=false`` (what every run did before);
- cold: the cache on, its folder empty (a first run: compiles and writes the cache);
- warm: the cache on, its folder filled by an earlier run of the same config
  (a rerun, or a sweep's later job; here the learning rate differs from the run that
  filled it, as in a sweep over ``lr_schedule.lr_max``).

Prints start to first step, whole job and whether run_info.json recorded a hit.
Goal: the warm job reaches its first step >= 2x sooner than a cold one.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from overhead import child_env, job_commands, job_times, timed_lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--job", choices=["resnet50_cifar", "quickstart"], default="resnet50_cifar")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mm_train_cc_") as tmp:
        run_py = next(iter(job_commands(args.job, args.epochs, tmp).values()))
        run_dir = next(a for a in run_py if a.startswith("hydra.run.dir=")).split("=", 1)[1]
        warm_dir, cold_dir = Path(tmp) / "warm_cache", Path(tmp) / "cold_cache"
        variants = {"cache off": (["device.compile_cache=false"], None),
                    "cold cache (first run)": ([], cold_dir),
                    "warm cache (rerun, other lr)": (["lr_schedule.lr_max=0.02"], warm_dir)}
        env = child_env()
        timed_lines(run_py, env={**env, "MM_TRAIN_COMPILE_CACHE_DIR": str(warm_dir)})   # fills the warm cache
        results = {name: [] for name in variants}
        for i in range(args.repeats):
            order = list(variants.items())
            for name, (extra, cache) in (order if i % 2 == 0 else order[::-1]):
                if cache == cold_dir:
                    shutil.rmtree(cold_dir, ignore_errors=True)
                run_env = {**env, "MM_TRAIN_COMPILE_CACHE_DIR": str(cache or Path(tmp) / "unused")}
                times = job_times(timed_lines([*run_py, *extra], env=run_env))
                info = json.loads((Path(run_dir) / "run_info.json").read_text())["compile_cache"]
                times["hit"] = info.get("hit")
                results[name].append(times)
                print(f"  {name}: {times}", file=sys.stderr, flush=True)
    med = statistics.median
    print(f"run.py +recipe={args.job}, {args.epochs} epoch(s); medians of {args.repeats} alternated runs; "
          f"1-min load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'variant':<30} {'start->1st step (s)':>20} {'min-max':>12} {'whole job (s)':>14} {'cache hit':>10}")
    meds = {}
    for name, runs in results.items():
        meds[name] = {k: med(r[k] for r in runs) for k in ("first", "whole")}
        firsts = [r["first"] for r in runs]
        print(f"{name:<30} {meds[name]['first']:>20.2f} {min(firsts):>5.2f}-{max(firsts):<6.2f} "
              f"{meds[name]['whole']:>14.2f} {str(sorted({str(r['hit']) for r in runs})):>10}")
    warm = meds["warm cache (rerun, other lr)"]
    for name in ("cache off", "cold cache (first run)"):
        print(f"{name + ' / warm':<30} {meds[name]['first'] / warm['first']:>19.2f}x {'':>12} "
              f"{meds[name]['whole'] / warm['whole']:>13.2f}x")
    print("goal: a repeated job reaches its first step >= 2x sooner than a cold one")


if __name__ == "__main__":
    main()
