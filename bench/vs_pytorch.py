"""mm_train against PyTorch on the same cores: ResNet-18 at 32x32 and ResNet-50 at 224x224, batch 32, SGD.

    python bench/vs_pytorch.py [--steps 20] [--repeats 2] [--compile] [--cap-gb 12]

Each job is a child process (bench/memory.py's children, under its RSS watchdog) that builds
the network and optimizer and trains ``--steps`` steps on one in-memory batch (the same
normal(0, 1) images and labels for both frameworks), alternating the programs in one run:

- mm_train: the recipe's network (``resnet18_torchvision`` / ``resnet50_torchvision``, torchvision's
  architecture), loss and ``Momentum`` (SGD with momentum 0.9, weight decay 1e-4) in mm_train's
  train step, graph mode (mm_train's default);
- torch eager: ``torchvision.models.resnet18/50`` with ``torch.optim.SGD`` (momentum 0.9, weight
  decay 1e-4), in the bench's own venv (bench/venvs.py, or ``--torch-python``); ``--compile`` adds ``torch.compile`` (inductor).

Columns: steady s/step (median of the steps after the first), time from process start to the
end of the first step, peak RSS of the process tree, the whole job (start to exit), and
mm_train's speed as a ratio (torch s/step / mm_train s/step: above 1, mm_train is faster).
"""
from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memory  # noqa: E402
from memory import ROOT, command_for, measure  # noqa: E402

JOBS = [("resnet18", 32, 10), ("resnet50", 224, 1000)]   # model, pixels, classes


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--compile", action="store_true", help="also torch.compile")
    parser.add_argument("--models", nargs="+", default=[m for m, _, _ in JOBS])
    parser.add_argument("--cap-gb", type=float, default=12.0)
    parser.add_argument("--torch-python", help="python with torch + torchvision (default: bench/.venvs/torch)")
    args = parser.parse_args(argv)
    memory.TORCH_PYTHON = args.torch_python or memory.TORCH_PYTHON
    programs = [("mm_train", "graph"), ("torch", "eager")] + ([("torch", "compile")] if args.compile else [])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    med = statistics.median
    table = []
    for model, size, classes in [j for j in JOBS if j[0] in args.models]:
        results = {p: [] for p in programs}
        for i in range(args.repeats):
            for program, mode in (programs if i % 2 == 0 else programs[::-1]):
                r = measure(command_for(program, model, args.batch, args.steps, mode, None, size, classes),
                            int(args.cap_gb * 2 ** 30), env)
                r["load"] = os.getloadavg()[0]
                results[(program, mode)].append(r)
                print(f"  {model} {program} {mode}: {[round(s, 3) for s in r['steps'][:6]]}... first "
                      f"{r['first_step_at']}, total {r['total']:.1f} s, peak {max(r['compile'], r['steady']) / 2**30:.2f} GB"
                      f"{' KILLED' if r['killed'] else ''} {r['stderr'][-300:]}", file=sys.stderr, flush=True)
        table.append((model, size, results))

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"{now}: batch {args.batch}, {args.steps} SGD steps on one in-memory batch; medians of {args.repeats} "
          f"alternated runs; {os.cpu_count()} cores")
    print(f"{'model':<16} {'program':<15} {'s/step':>8} {'1st step s':>10} {'peak GB':>8} {'job s':>7} "
          f"{'torch s / mm_train s':>20} {'load':>5}")
    for model, size, results in table:
        ours = [r for r in results[("mm_train", "graph")] if not r["killed"] and not r["returncode"]]
        base = med([s for r in ours for s in r["steps"][1:]]) if ours else float("nan")
        for (program, mode), rs in results.items():
            ok = [r for r in rs if not r["killed"] and not r["returncode"]]
            name = f"{model} {size}px"
            if not ok:
                print(f"{name:<16} {program + ' ' + mode:<15} failed: {rs[0]['stderr'][-200:] or 'killed at the cap'}")
                continue
            step = med([s for r in ok for s in r["steps"][1:]])
            print(f"{name:<16} {program + ' ' + mode:<15} {step:>8.3f} {med([r['first_step_at'] for r in ok]):>10.1f} "
                  f"{med([max(r['compile'], r['steady']) for r in ok]) / 2**30:>8.2f} "
                  f"{med([r['total'] for r in ok]):>7.1f} {base / step if program == 'mm_train' else step / base:>20.2f} "
                  f"{med([r['load'] for r in ok]):>5.1f}")


if __name__ == "__main__":
    main()
