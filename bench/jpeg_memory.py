"""An ImageNet-style JPEG folder through mm_train's pipeline vs by hand; peak memory of ResNet-50 training.

    python bench/jpeg_memory.py [--images 320] [--repeats 5] [--workers 1 2 4] [--memory-repeats 3]
    python bench/jpeg_memory.py --skip-memory      # the pipeline part only

1. Pipeline: writes ``--images`` 224x224 JPEGs (10 classes, smooth colour fields with
   noise, quality 90) into ``root/train/<class>/``, then times one epoch of
   mm_train's ``build_dataset`` (``type: image_folder``) next to the same pipeline written
   by hand (``ImageFolderDataset`` + Decode + RandomResizedCrop(224) + RandomHorizontalFlip
   + Normalize + HWC2CHW, batch 32), alternating, for each worker count; the row
   ``auto`` is mm_train's default (``num_parallel_workers: auto`` = the cores this process
   may use, at most 8) against the hand-written pipeline at MindSpore's own default.
2. Memory: peak resident set size (``ru_maxrss`` of each child, from ``os.wait4``) of
   ``run.py +recipe=resnet50_cifar`` against ``bench/plain_resnet50.py``, batch 32,
   ``--memory-size`` (32) pixels, 10 steps and one evaluation, alternating.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
os.environ.setdefault("GLOG_v", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BATCH = 32
MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255]
STD = [0.229 * 255, 0.224 * 255, 0.225 * 255]
RECIPE_TRANSFORMS = [{"type": "RandomResizedCrop", "size": 224},
                     {"type": "RandomHorizontalFlip", "prob": 0.5},
                     {"type": "Normalize", "mean": MEAN, "std": STD},
                     {"type": "HWC2CHW"}]


def write_jpegs(root: Path, n: int, size: int = 224) -> Path:
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(n):
        label = i % 10
        base = np.stack([(xx * 255 * (label + 1) / 10), yy * 255, (xx + yy) * 127], -1)
        image = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        folder = root / "train" / f"class_{label}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i:05d}.jpg", quality=90)
    return root


def framework(root: Path, workers):
    from mm_train.data import build_dataset
    split = {"batch_size": BATCH, "shuffle": True, "transforms": RECIPE_TRANSFORMS}
    if workers != "auto":
        split["num_parallel_workers"] = workers
    return build_dataset({"type": "image_folder", "path": str(root), "train": split}, "train")


def by_hand(root: Path, workers):
    import mindspore as ms
    import mindspore.dataset as ds
    import mindspore.dataset.transforms as T
    import mindspore.dataset.vision as vision
    kwargs = {} if workers == "auto" else {"num_parallel_workers": workers}   # auto: MindSpore's default
    data = ds.ImageFolderDataset(str(root / "train"), shuffle=True, **kwargs)
    data = data.map([vision.Decode(), vision.RandomResizedCrop(224), vision.RandomHorizontalFlip(0.5),
                     vision.Normalize(MEAN, STD), vision.HWC2CHW()], "image", **kwargs)
    data = data.map(T.TypeCast(ms.int32), "label", **kwargs)
    return data.batch(BATCH, drop_remainder=True)


def one_epoch(make) -> float:
    data = make()
    start = time.perf_counter()
    count = 0
    for image, _ in data.create_tuple_iterator(output_numpy=True, num_epochs=1):
        count += image.shape[0]
    return count / (time.perf_counter() - start)


def pipeline_table(images: int, repeats: int, workers_list) -> None:
    import mindspore.dataset as ds
    ds.config.set_seed(0)
    from mm_train.data.workers import auto_workers
    rows = []
    with tempfile.TemporaryDirectory(prefix="mm_train_jpeg_") as tmp:
        root = write_jpegs(Path(tmp), images)
        for workers in [*workers_list, "auto"]:
            ours_fn = lambda: framework(root, workers)   # noqa: E731
            hand_fn = lambda: by_hand(root, workers)     # noqa: E731
            one_epoch(hand_fn)                            # warm-up (page cache, thread pools)
            ours, hand = [], []
            for i in range(repeats):
                pair = [(ours, ours_fn), (hand, hand_fn)]
                for out, fn in (pair if i % 2 == 0 else pair[::-1]):
                    out.append(one_epoch(fn))
            rows.append((workers, ours, hand))
            print(f"  workers {workers}: mm_train {[round(x) for x in ours]}, plain {[round(x) for x in hand]}",
                  file=sys.stderr, flush=True)
    med = statistics.median
    print(f"{images} JPEGs 224x224, batch {BATCH}, Decode + RandomResizedCrop(224) + flip + Normalize + HWC2CHW; "
          f"{repeats} alternating epochs; {os.cpu_count()} cores, mm_train's auto = {auto_workers()} workers "
          f"(MindSpore's own default: {ds.config.get_num_parallel_workers()}); "
          f"1-min load average {os.getloadavg()[0]:.1f}")
    print(f"{'workers':>8} {'mm_train img/s':>15} {'plain img/s':>12} {'ratio':>7} {'pair ratios min-max':>20}")
    for workers, ours, hand in rows:
        pairs = [a / b for a, b in zip(ours, hand)]
        print(f"{workers!s:>8} {med(ours):>15.0f} {med(hand):>12.0f} {med(pairs):>7.3f} "
              f"{min(pairs):>9.2f}-{max(pairs):<10.2f}")


def peak_rss(command: list[str], env) -> float:
    """Peak RSS of the child process in MB (its own ru_maxrss, from wait4; this process must stay small)."""
    assert "mindspore" not in sys.modules, "measure memory before this process loads MindSpore"
    from overhead import fresh_run_dir
    fresh_run_dir(command)
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{command[:3]} failed: {proc.stderr.read().decode()[-2000:]}")
    return usage.ru_maxrss / 1024


def memory_table(repeats: int, size: int) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from overhead import child_env, job_commands
    with tempfile.TemporaryDirectory(prefix="mm_train_memory_") as tmp:
        jobs = job_commands("resnet50_cifar", 1, tmp)
        jobs = {name: [a.replace("dataset.image_size=32", f"dataset.image_size={size}") for a in cmd]
                for name, cmd in jobs.items()}
        plain = jobs["plain MindSpore script"]
        plain[plain.index("32", 3)] = str(size)
        results = {name: [] for name in jobs}
        for i in range(repeats):
            order = list(jobs.items())
            for name, command in (order if i % 2 == 0 else order[::-1]):
                results[name].append(peak_rss(command, child_env()))
                print(f"  {name}: {results[name][-1]:.0f} MB", file=sys.stderr, flush=True)
    med = statistics.median
    print(f"ResNet-50, batch {BATCH}, {size}x{size}, 10 steps + one evaluation; peak RSS of the process, "
          f"medians of {repeats} alternated runs")
    print(f"{'program':<34} {'peak RSS (MB)':>14} {'min-max':>14}")
    for name, values in results.items():
        print(f"{name:<34} {med(values):>14.0f} {min(values):>7.0f}-{max(values):<6.0f}")
    names = list(results)
    print(f"{'ratio run.py / plain':<34} {med(results[names[0]]) / med(results[names[1]]):>14.3f}   (target <= 1.05)\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=320)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--memory-repeats", type=int, default=3)
    parser.add_argument("--memory-size", type=int, default=32)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-pipeline", action="store_true")
    args = parser.parse_args()
    if not args.skip_memory:   # first: a child's ru_maxrss starts from this process's RSS at fork (Linux keeps
        memory_table(args.memory_repeats, args.memory_size)   # it over exec), so MindSpore must not be loaded yet
    if not args.skip_pipeline:
        pipeline_table(args.images, args.repeats, args.workers)


if __name__ == "__main__":
    main()
