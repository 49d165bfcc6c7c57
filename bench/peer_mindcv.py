"""A peer: MindCV 0.3.0's own train.py against mm_train, the same ResNet-18 on the same files.

    python bench/peer_mindcv.py [--steps 10] [--repeats 3] [--default-steps 4] [--default-repeats 1]
                                [--mindcv-repo PATH] [--venv DIR]

MindCV comes from PyPI (``mindcv==0.3.0``) into a venv of its own that this script
creates (``--venv``, default ``~/.cache/mm_train_bench/mindcv-0.3.0-venv``); the venv
sees this interpreter's site-packages through a .pth file, so both sides run the same
MindSpore. mindcv is never a dependency of mm_train. Neither the wheel nor the sdist of
mindcv 0.3.0 ships ``train.py`` and ``config.py``: they are read from a git checkout of
https://github.com/mindspore-lab/mindcv at tag v0.3.0 (``--mindcv-repo``; ``git show
v0.3.0:train.py``), copied to a temp dir, never into this repository.

Both sides train ResNet-18 (MindCV's ``resnet18``; mm_train's ``resnet18_cifar`` recipe)
on the same synthetic CIFAR-10 binary files (mm_train.data.synthetic.write_cifar10) at
32x32, batch 32, the first ``32 x steps`` training images, one epoch, a checkpoint at
the end, momentum SGD at lr 0.01, the CIFAR augmentation (RandomCrop 32/4, flip,
Resize, Rescale, Normalize). MindCV trains without evaluation (its default); mm_train
always evaluates at the end of training, here on one batch (32 images). Each side logs
every step: MindCV ``--log_interval 1``, mm_train ``LossMonitor`` every step.

(a) as each side's users run it by default: MindCV without ``ONEDNN_MAX_CPU_ISA``
    (MindCV does not set it), mm_train with ``device=cpu``'s AVX2; short (``--default-steps``)
    because oneDNN's reference convolutions take tens of seconds a step;
(b) both with ``ONEDNN_MAX_CPU_ISA=AVX2``.

mm_train runs with its default compile cache (``device.compile_cache``, in a temp folder
filled by the untimed warm-up run, as for a rerun or a sweep's later job) and, in (b),
also with ``device.compile_cache=false`` (a first run). Runs alternate; medians.

``--diagnose-summary`` adds a fourth program to (b): MindCV with ``mindspore.train.SummaryRecord``
replaced by a no-op (a ``sitecustomize.py`` on its PYTHONPATH), to show what MindCV's always-on
summary writer costs.

Reported: time to first step (process start to the first step's log line), steady
images/s (step lines after the second, within the epoch), whole job (start to exit) and
the process's CPU time (user+sys: MindCV's always-on SummaryRecord writer shows there).
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from overhead import child_env, timed_lines

ROOT = Path(__file__).resolve().parent.parent
from mm_train.data.synthetic import write_cifar10  # noqa: E402

BATCH = 32
MINDCV_STEP = re.compile(r".*Epoch: \[(\d+)/\d+\], batch: \[(\d+)/\d+\]")
MM_STEP = re.compile(r"^epoch: (\d+) step: (\d+),")
DEFAULT_REPO = "/work/.mirror/mindspore-lab+mindcv/repo"
NO_SUMMARY = """# bench/peer_mindcv.py --diagnose-summary: MindCV's StateMonitor without its SummaryRecord writer
import mindspore.train as _train


class _NoSummary:
    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


_train.SummaryRecord = _NoSummary
"""


def make_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", "import mindcv"], capture_output=True).returncode == 0:
        return python
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    ours = subprocess.run([sys.executable, "-c", "import mindspore, os; print(os.path.dirname(os.path.dirname("
                           "mindspore.__file__)))"], check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "mm_train_bench_base.pth").write_text(ours + "\n")   # the same MindSpore, numpy<2
    subprocess.run([python, "-m", "pip", "install", "--quiet", "mindcv==0.3.0"], check=True)
    return python


def mindcv_scripts(repo: str, into: Path) -> Path:
    for name in ("train.py", "config.py"):
        text = subprocess.run(["git", "-C", repo, "show", f"v0.3.0:{name}"], check=True, capture_output=True,
                              text=True).stdout
        (into / name).write_text(text)
    return into / "train.py"


def times(lines, pattern) -> dict[str, float]:
    steps = [(t, int(m.group(1)), int(m.group(2))) for t, line in lines if (m := pattern.match(line))]
    steady = [b[0] - a[0] for a, b in zip(steps, steps[1:]) if a[1] == b[1] and a[2] >= 2]
    return {"first": steps[0][0], "rate": BATCH * len(steady) / sum(steady) if steady else float("nan"),
            "whole": lines[-1][0], "cpu": float(lines[-1][1].split("cpu=")[1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10, help="training steps in (b)")
    parser.add_argument("--repeats", type=int, default=3, help="alternated runs in (b)")
    parser.add_argument("--default-steps", type=int, default=4, help="training steps in (a) (>= 4 for a steady rate)")
    parser.add_argument("--default-repeats", type=int, default=1, help="alternated runs in (a)")
    parser.add_argument("--skip-default", action="store_true", help="skip (a)")
    parser.add_argument("--diagnose-summary", action="store_true",
                        help="(b) also runs MindCV with its SummaryRecord replaced by a no-op (a sitecustomize.py)")
    parser.add_argument("--mindcv-repo", default=DEFAULT_REPO, help="a git checkout of mindspore-lab/mindcv")
    parser.add_argument("--venv", type=Path, default=Path.home() / ".cache/mm_train_bench/mindcv-0.3.0-venv")
    args = parser.parse_args()
    python = make_venv(args.venv)
    with tempfile.TemporaryDirectory(prefix="mm_train_peer_") as tmp:
        tmp = Path(tmp)
        cifar = write_cifar10(tmp / "cifar-10-batches-bin")
        train_py = mindcv_scripts(args.mindcv_repo, tmp)

        def mindcv(steps, run_id):
            return [str(python), str(train_py), "--model", "resnet18", "--dataset", "cifar10", "--data_dir",
                    str(cifar), "--num_classes", "10", "--image_resize", "32", "--batch_size", str(BATCH),
                    "--epoch_size", "1", "--num_samples", str(BATCH * steps), "--opt", "momentum", "--lr", "0.01",
                    "--weight_decay", "1e-4", "--warmup_epochs", "0", "--log_interval", "1",
                    "--num_parallel_workers", "2", "--ckpt_save_dir", str(tmp / f"mindcv_{run_id}")]

        def mm(steps, run_id, *extra):
            return [sys.executable, str(ROOT / "run.py"), "+recipe=resnet18_cifar", f"paths.data={tmp}",
                    "dataset.image_size=32", f"+dataset.train.limit={BATCH * steps}", "+dataset.eval.limit=32",
                    "train.epochs=1", "lr_schedule.lr_max=0.01", "lr_schedule.lr_init=0.01",
                    "callbacks.1.per_print_times=1", f"hydra.run.dir={tmp}/mm_{run_id}", *extra]

        base = child_env()
        base["MM_TRAIN_COMPILE_CACHE_DIR"] = str(tmp / "compile_cache")
        plain_env = {k: v for k, v in base.items() if k != "ONEDNN_MAX_CPU_ISA"}
        avx2_env = {**base, "ONEDNN_MAX_CPU_ISA": "AVX2", "GLOG_v": "3"}
        settings = []
        if not args.skip_default:
            settings.append(("(a) as users run them", args.default_steps, args.default_repeats, {
                "MindCV train.py (oneDNN default)": ("mindcv", plain_env, ()),
                "mm_train run.py (device=cpu: AVX2)": ("mm", plain_env, ())}))
        sides_b = {"MindCV train.py (AVX2)": ("mindcv", avx2_env, ()),
                   "mm_train run.py": ("mm", avx2_env, ()),
                   "mm_train run.py, compile cache off": ("mm", avx2_env, ("device.compile_cache=false",))}
        if args.diagnose_summary:
            (tmp / "no_summary").mkdir()
            (tmp / "no_summary" / "sitecustomize.py").write_text(NO_SUMMARY)
            sides_b["MindCV, no SummaryRecord (diagnosis)"] = ("mindcv", {**avx2_env, "PYTHONPATH": str(tmp / "no_summary")},
                                                               ())
        settings.append(("(b) both ONEDNN_MAX_CPU_ISA=AVX2", args.steps, args.repeats, sides_b))
        tables = []
        for title, steps, repeats, sides in settings:
            results = {name: [] for name in sides}
            for i in range(repeats + 1):   # the first round is an untimed warm-up (bytecode, compile cache)
                order = list(sides.items())
                for name, (kind, env, extra) in (order if i % 2 else order[::-1]):
                    if i == 0 and kind == "mindcv" and repeats == 1 and env is plain_env:
                        continue   # (a)'s MindCV takes minutes; no warm-up needed for its timing
                    run_id = f"{len(tables)}_{i}_{abs(hash(name))}"
                    command = mindcv(steps, run_id) if kind == "mindcv" else mm(steps, run_id, *extra)
                    if kind == "mm":
                        env = {k: v for k, v in env.items() if k != "PYTHONPATH" or "no_summary" not in v}
                    lines = timed_lines(command, env=env, cwd=tmp)   # MindCV writes ./{ckpt_save_dir}/summary
                    if i:
                        results[name].append(times(lines, MINDCV_STEP if kind == "mindcv" else MM_STEP))
                    print(f"  {title}: {name} run {i}: " + (str(results[name][-1]) if i else "warm-up"),
                          file=sys.stderr, flush=True)
            tables.append((title, steps, repeats, results))
    med = statistics.median
    print(f"ResNet-18, CIFAR-10 format (synthetic), 32x32, batch {BATCH}, 1 epoch; medians of alternated runs; "
          f"1-min load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for title, steps, repeats, results in tables:
        print(f"\n{title}: {steps} steps, {repeats} run(s) each")
        print(f"{'program':<40} {'start->1st step (s)':>20} {'steady img/s':>13} {'whole job (s)':>14} "
              f"{'CPU user+sys (s)':>17}")
        meds = {name: {k: med(r[k] for r in runs) for k in ("first", "rate", "whole", "cpu")}
                for name, runs in results.items()}
        for name, m in meds.items():
            print(f"{name:<40} {m['first']:>20.2f} {m['rate']:>13.1f} {m['whole']:>14.2f} {m['cpu']:>17.1f}")
        names = list(meds)
        peer = meds[names[0]]
        for name in names[1:]:
            m = meds[name]
            if "diagnosis" in name:   # mm_train against MindCV without its summary writer
                peer, m, name = m, meds["mm_train run.py"], "mm_train vs MindCV without summary"
            print(f"{'  x faster: ' + name.replace('mm_train run.py', 'mm_train'):<40} "
                  f"{peer['first'] / m['first']:>19.2f}x {m['rate'] / peer['rate']:>12.2f}x "
                  f"{peer['whole'] / m['whole']:>13.2f}x")
    print("\nratios: how many times faster mm_train is (time to first step and whole job: MindCV / mm_train; "
          "img/s: mm_train / MindCV). Goals: >= 3x in (a), >= 1.2x in (b)")


if __name__ == "__main__":
    main()
