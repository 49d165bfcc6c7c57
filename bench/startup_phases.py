"""Where the time of the whole job goes, run.py vs the plain script, phase by phase.

    python bench/startup_phases.py [--repeats 5] [--epochs 1] [--job quickstart|resnet50_cifar]

Each side runs in a fresh process (alternating, bytecode caching on) with timers
wrapped around the functions that mark a phase's end; the table gives the median
time of each phase from process start (the parent's clock at spawn) to process exit
(the parent's clock when the child is reaped): interpreter start-up, the phases up
to the first ``epoch: 1 step: 1`` line, training, and after the last step line (last
evaluation and checkpoint, curves.png, returning from Model.train, Hydra's job
teardown, interpreter shutdown).
"""
from __future__ import annotations

import argparse
import builtins
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from overhead import child_env, fresh_run_dir, job_commands

ROOT = Path(__file__).resolve().parent.parent
T0 = time.perf_counter()
MARKS: list[tuple[str, float]] = []

RUN_PHASES = [
    ("Python start-up (interpreter, site, this bench)", "child up"),
    ("import Hydra", "hydra imported"),
    ("Hydra: parse the command line, find plugins", "get_mode called"),
    ("Hydra: compose #1 (get_mode reads hydra.mode)", "get_mode done"),
    ("Hydra: compose #2 (the run's config)", "run composed"),
    ("Hydra: job set-up (output dir, logging, .hydra/)", "task entered"),
    ("mm_train: resolve the config", "components loading"),
    ("import MindSpore (and mm_train's components)", "components loaded"),
    ("mm_train: validate, run files, build the parts", "Model.train called"),
    ("MindSpore: first step (graph compile + run)", "first step"),
    ("training: first to last step line", "last step"),
    ("last eval + checkpoint (epoch-end callbacks)", "curves start"),
    ("curves.png", "curves done"),
    ("rest of Model.train (train-end callbacks)", "Model.train returned"),
    ("mm_train after Model.train (run files)", "task returned"),
    ("Hydra job teardown + interpreter exit", "exit"),
]
PLAIN_PHASES = [
    ("Python start-up (interpreter, site, this bench)", "child up"),
    ("import MindSpore", "mindspore imported"),
    ("build data, network, optimizer, Model", "Model.train called"),
    ("MindSpore: first step (graph compile + run)", "first step"),
    ("training: first to last step line", "last step"),
    ("last eval + checkpoint, rest of Model.train", "Model.train returned"),
    ("interpreter exit", "exit"),
]
STEP_LINE = re.compile(r"^epoch: \d+ step: \d+,")


WALL0 = time.time() - (time.perf_counter() - T0)   # the wall clock at T0


def mark(name: str) -> None:
    MARKS.append((name, time.perf_counter() - T0))


def wrap(owner, attr: str, before: str | None = None, after: str | None = None) -> None:
    original = getattr(owner, attr)

    def timed(*args, **kwargs):
        if before:
            mark(before)
        result = original(*args, **kwargs)
        if after:
            mark(after)
        return result
    setattr(owner, attr, timed)


def mark_first_step() -> None:
    plain_print = builtins.print

    def watching(*args, **kwargs):
        plain_print(*args, **kwargs)
        if args and str(args[0]).startswith("epoch: 1 step: 1,") and not any(n == "first step" for n, _ in MARKS):
            mark("first step")
        if args and STEP_LINE.match(str(args[0])):
            MARKS[:] = [m for m in MARKS if m[0] != "last step"]
            mark("last step")
    builtins.print = watching


def wrap_model_train() -> None:
    from mindspore.train import Model
    wrap(Model, "train", before="Model.train called", after="Model.train returned")


def child_run(command: list[str]) -> None:
    sys.argv = command[1:]
    import hydra  # noqa: F401
    mark("hydra imported")
    from hydra._internal.hydra import Hydra

    import mm_train.app.entry as entry
    wrap(Hydra, "get_mode", before="get_mode called", after="get_mode done")
    original_compose = Hydra.compose_config

    def compose(self, *args, **kwargs):
        cfg = original_compose(self, *args, **kwargs)
        if kwargs.get("with_log_configuration"):
            mark("run composed")
        return cfg
    Hydra.compose_config = compose
    original_task = entry.task

    def task(cfg):
        mark("task entered")
        from mm_train import registry
        original_load = registry.load_all

        def load_all():
            mark("components loading")
            original_load()
            mark("components loaded")
            wrap_model_train()
            from mm_train.callbacks.plot import PlotCurves
            wrap(PlotCurves, "on_train_end", before="curves start", after="curves done")
        registry.load_all = load_all
        result = original_task(cfg)
        mark("task returned")
        return result
    entry.task = task
    mark_first_step()
    import runpy
    with entry.reported_errors():
        runpy.run_path(str(ROOT / "run.py"), run_name="__main__")


def child_plain(command: list[str]) -> None:
    os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")   # as the plain scripts do before importing MindSpore
    os.environ.setdefault("GLOG_v", "3")
    import mindspore  # noqa: F401
    mark("mindspore imported")
    wrap_model_train()
    mark_first_step()
    sys.argv = command[1:]
    import runpy
    runpy.run_path(command[1], run_name="__main__")


def run_child(side: str, command: list[str], tmp: str) -> dict[str, float]:
    """The child's marks, in seconds since the parent spawned it (``exit``: when it was reaped)."""
    out = Path(tmp) / "marks.json"
    fresh_run_dir(command)
    spawned = time.time()
    subprocess.run([sys.executable, __file__, "--child", side, "--out", str(out), "--command", json.dumps(command)],
                   cwd=ROOT, env=child_env(), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ended = time.time()
    data = json.loads(out.read_text())
    marks = {name: data["wall0"] + t - spawned for name, t in data["marks"]}
    marks["child up"] = data["wall0"] - spawned
    marks["exit"] = ended - spawned
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--job", choices=["quickstart", "resnet50_cifar"], default="quickstart")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--child", choices=["run", "plain"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--command", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        os.chdir(ROOT)
        import atexit   # written at interpreter exit (run.py's fast_exit runs atexit handlers too)
        atexit.register(lambda: Path(args.out).write_text(json.dumps({"wall0": WALL0, "marks": MARKS})))
        (child_run if args.child == "run" else child_plain)(json.loads(args.command))
        return
    runs = {"run": [], "plain": []}
    with tempfile.TemporaryDirectory() as tmp:
        commands = dict(zip(runs, job_commands(args.job, args.epochs, tmp).values()))
        for side in runs:   # warm the bytecode caches, untimed
            run_child(side, commands[side], tmp)
        for _ in range(args.repeats):
            for side in runs:
                runs[side].append(run_child(side, commands[side], tmp))
    for side, phases in ((f"run.py +recipe={args.job}", RUN_PHASES), ("plain MindSpore script", PLAIN_PHASES)):
        marks = runs["run" if side.startswith("run") else "plain"]
        print(f"{side:<52} {'phase (s)':>10} {'at (s)':>8}   (medians of {args.repeats}, {args.epochs} epochs)")
        previous = [0.0] * len(marks)
        for label, name in phases:
            at = [m[name] for m in marks]
            print(f"  {label:<50} {statistics.median(a - p for a, p in zip(at, previous)):>10.3f} "
                  f"{statistics.median(at):>8.3f}")
            previous = at
        print()


if __name__ == "__main__":
    main()
