"""ImageNet-size JPEGs: mm_train's train pipeline vs Decode + RandomResizedCrop by hand vs the decoder's limit.

    python bench/jpeg_pipeline.py [--images 480] [--repeats 4] [--workers 1 2 auto] [--variants]

Writes ``--images`` JPEGs of ImageNet's size distribution (about 500x375, portrait and
landscape, quality 75-95, smooth colour fields with texture and noise) into
``root/train/<class>/`` and times one epoch, alternating in one process, of:

- mm_train: ``build_dataset`` (``type: image_folder``) with the recipe transforms of the
  torchvision recipes (RandomResizedCrop 224 + flip + Normalize + HWC2CHW, batch 32): its
  train split starts with MindSpore's ``RandomCropDecodeResize`` (``fuse_decode: crop``, the
  default: only the crop decoded, at full scale; mm_train/data/decode_fusion.py);
- mm_train ``fuse_decode: scaled``: the same with ``RandomCropScaledDecodeResize`` + ``Resize``
  (mm_train/data/scaled_decode.py: the whole JPEG decoded at a reduced DCT scale, Pillow's draft);
- by hand: ``ImageFolderDataset`` + Decode + RandomResizedCrop(224) + flip + Normalize +
  HWC2CHW, the same worker count (``auto``: MindSpore's own default);
- the decode-only limit: Pillow (libjpeg) decoding each file in draft mode at the smallest
  size that still covers the 224x224 output from a RandomResizedCrop box, nothing else, in
  a thread pool of the same size (Pillow releases the GIL while decoding).

``--variants`` adds rows of pipeline settings (``fuse_decode: scaled`` / ``false``, the scaled
decode by hand in threads, in worker processes (``python_multiprocessing``), in a map of its own,
or resizing in Pillow; prefetch size; batch-level Normalize + HWC2CHW) against mm_train's
default, to see whether any helps.
Prints images/s medians and the per-pair ratios, the date and the 1-minute load average.
"""
from __future__ import annotations

import argparse
import datetime
import io
import math
import os
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("GLOG_v", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BATCH = 32
SIZE = 224
MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255]
STD = [0.229 * 255, 0.224 * 255, 0.225 * 255]
RECIPE_TRANSFORMS = [{"type": "RandomResizedCrop", "size": SIZE},
                     {"type": "RandomHorizontalFlip", "prob": 0.5},
                     {"type": "Normalize", "mean": MEAN, "std": STD},
                     {"type": "HWC2CHW"}]
SHAPES = [(500, 375), (375, 500), (500, 333), (500, 400), (400, 300), (640, 480), (500, 500), (333, 500)]


def write_jpegs(root: Path, n: int) -> list[Path]:
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    files = []
    for i in range(n):
        w, h = SHAPES[i % len(SHAPES)]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        fx, fy = rng.uniform(0.005, 0.05, 2)
        base = np.stack([127 + 100 * np.sin(xx * fx + rng.uniform(0, 6)),
                         127 + 100 * np.cos(yy * fy + rng.uniform(0, 6)),
                         127 + 100 * np.sin((xx + yy) * (fx + fy) / 2)], -1)
        image = np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)
        folder = root / "train" / f"class_{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{i:05d}.jpg"
        Image.fromarray(image).save(path, quality=int(rng.integers(75, 96)))
        files.append(path)
    return files


def framework(root: Path, workers, **extra):
    from mm_train.data import build_dataset
    split = {"batch_size": BATCH, "shuffle": True, "transforms": RECIPE_TRANSFORMS}
    if workers != "auto":
        split["num_parallel_workers"] = workers
    return build_dataset({"type": "image_folder", "path": str(root), "verify": False, "train": split, **extra},
                         "train")


def batch_normalize(root: Path, workers):
    """Variant: fused decode, flip and HWC2CHW (uint8) per image, Normalize once per batch (HWC2CHW takes no batch)."""
    import mindspore as ms
    import mindspore.dataset as ds
    import mindspore.dataset.transforms as T
    import mindspore.dataset.vision as vision
    w = 2 if workers == "auto" else workers
    data = ds.ImageFolderDataset(str(root / "train"), shuffle=True, num_parallel_workers=w)
    data = data.map([vision.RandomCropDecodeResize(SIZE), vision.RandomHorizontalFlip(0.5), vision.HWC2CHW()], "image",
                    num_parallel_workers=w)
    data = data.map(T.TypeCast(ms.int32), "label", num_parallel_workers=w)
    data = data.batch(BATCH, drop_remainder=True)
    return data.map(vision.Normalize(MEAN, STD, is_hwc=False), "image", num_parallel_workers=w)


def scaled_by_hand(root: Path, workers, processes: bool = False, own_map: bool = False, pillow_resize: bool = False):
    """Variant: the ops of ``fuse_decode: scaled`` in threads or worker processes, the decode in a map of its own,
    or Pillow resizing the crop (instead of MindSpore's Resize)."""
    import mindspore as ms
    import mindspore.dataset as ds
    import mindspore.dataset.transforms as T
    import mindspore.dataset.vision as vision
    from mm_train.data.scaled_decode import RandomCropScaledDecodeResize
    w = 2 if workers == "auto" else workers
    data = ds.ImageFolderDataset(str(root / "train"), shuffle=True, num_parallel_workers=w)
    ops = [RandomCropScaledDecodeResize(SIZE, resize=pillow_resize)] + ([] if pillow_resize else [vision.Resize((SIZE, SIZE))])
    ops += [vision.RandomHorizontalFlip(0.5), vision.Normalize(MEAN, STD), vision.HWC2CHW()]
    if own_map:
        data = data.map(ops[:1], "image", num_parallel_workers=w)
        ops = ops[1:]
    data = data.map(ops, "image", num_parallel_workers=w, python_multiprocessing=processes)
    data = data.map(T.TypeCast(ms.int32), "label", num_parallel_workers=w)
    return data.batch(BATCH, drop_remainder=True)


def by_hand(root: Path, workers):
    import mindspore as ms
    import mindspore.dataset as ds
    import mindspore.dataset.transforms as T
    import mindspore.dataset.vision as vision
    kwargs = {} if workers == "auto" else {"num_parallel_workers": workers}   # auto: MindSpore's default
    data = ds.ImageFolderDataset(str(root / "train"), shuffle=True, **kwargs)
    data = data.map([vision.Decode(), vision.RandomResizedCrop(SIZE), vision.RandomHorizontalFlip(0.5),
                     vision.Normalize(MEAN, STD), vision.HWC2CHW()], "image", **kwargs)
    data = data.map(T.TypeCast(ms.int32), "label", **kwargs)
    return data.batch(BATCH, drop_remainder=True)


def one_epoch(data) -> float:
    start = time.perf_counter()
    count = 0
    for image, _ in data.create_tuple_iterator(output_numpy=True, num_epochs=1):
        count += image.shape[0]
    return count / (time.perf_counter() - start)


def crop_box(w: int, h: int, rng: random.Random, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)) -> tuple[int, int]:
    """Width and height of a RandomResizedCrop box (torchvision's rule, which MindSpore follows)."""
    area = w * h
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        cw, ch = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            return cw, ch
    side = min(w, h)
    return side, side


def decode_limit(jobs: list[tuple[bytes, int, int]], threads: int) -> float:
    """Images/s of Pillow's draft-mode decode alone: each file at the least size covering 224x224 of its crop."""
    from PIL import Image

    def decode(job):
        data, need_w, need_h = job
        image = Image.open(io.BytesIO(data))
        image.draft("RGB", (need_w, need_h))
        image.load()

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(decode, jobs, chunksize=8))
    return len(jobs) / (time.perf_counter() - start)


def limit_jobs(files: list[Path], seed: int) -> list[tuple[bytes, int, int]]:
    from PIL import Image
    rng = random.Random(seed)
    jobs = []
    for f in files:
        data = f.read_bytes()
        w, h = Image.open(io.BytesIO(data)).size
        cw, ch = crop_box(w, h, rng)
        jobs.append((data, math.ceil(w * SIZE / cw), math.ceil(h * SIZE / ch)))
    return jobs


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=480)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--workers", nargs="+", default=["1", "2", "auto"])
    parser.add_argument("--variants", action="store_true", help="also time pipeline settings against the default")
    args = parser.parse_args(argv)

    import mindspore.dataset as ds
    from mm_train.data.workers import auto_workers
    ds.config.set_seed(0)
    med = statistics.median
    rows, variant_rows = [], []
    with tempfile.TemporaryDirectory(prefix="mm_train_jpeg_pipeline_") as tmp:
        root = Path(tmp)
        files = write_jpegs(root, args.images)
        megabytes = sum(f.stat().st_size for f in files) / 1e6
        for workers in [w if w == "auto" else int(w) for w in args.workers]:
            threads = auto_workers() if workers == "auto" else workers
            programs = {"mm_train": lambda: one_epoch(framework(root, workers)),
                        "mm_train scaled": lambda: one_epoch(framework(root, workers, fuse_decode="scaled")),
                        "by hand": lambda: one_epoch(by_hand(root, workers)),
                        "decode limit": lambda r=[0]: decode_limit(limit_jobs(files, r.__setitem__(0, r[0] + 1) or r[0]),
                                                                   threads)}
            one_epoch(by_hand(root, workers))        # warm-up: page cache, thread pools
            results = {name: [] for name in programs}
            for i in range(args.repeats):
                order = list(programs.items())
                for name, run in (order if i % 2 == 0 else order[::-1]):
                    results[name].append(run())
            rows.append((workers, threads, results))
            print(f"  workers {workers}: " + "; ".join(f"{k} {[round(x) for x in v]}" for k, v in results.items()),
                  file=sys.stderr, flush=True)
        if args.variants:
            w = auto_workers()
            programs = {"mm_train default": lambda: one_epoch(framework(root, "auto")),
                        "fuse_decode: scaled": lambda: one_epoch(framework(root, "auto", fuse_decode="scaled")),
                        "fuse_decode: false": lambda: one_epoch(framework(root, "auto", fuse_decode=False)),
                        "scaled, threads (by hand)": lambda: one_epoch(scaled_by_hand(root, w)),
                        "scaled, python_multiprocessing": lambda: one_epoch(scaled_by_hand(root, w, processes=True)),
                        "scaled, in a map of its own": lambda: one_epoch(scaled_by_hand(root, w, own_map=True)),
                        "scaled, Pillow resizes": lambda: one_epoch(scaled_by_hand(root, w, pillow_resize=True)),
                        "prefetch_size 4 (default 16)": lambda: _with_prefetch(4, root),
                        "prefetch_size 64": lambda: _with_prefetch(64, root),
                        "Normalize per batch": lambda: one_epoch(batch_normalize(root, w))}
            results = {name: [] for name in programs}
            for i in range(args.repeats):
                order = list(programs.items())
                for name, run in (order if i % 2 == 0 else order[::-1]):
                    results[name].append(run())
            variant_rows = results
            print("  variants: " + "; ".join(f"{k} {[round(x) for x in v]}" for k, v in results.items()),
                  file=sys.stderr, flush=True)

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"{now}: {args.images} JPEGs (~500x375, quality 75-95, {megabytes:.1f} MB), batch {BATCH}, "
          f"RandomResizedCrop({SIZE}) + flip + Normalize + HWC2CHW; medians of {args.repeats} alternated epochs; "
          f"{os.cpu_count()} cores; 1-min load average {os.getloadavg()[0]:.1f}")
    print("mm_train: fuse_decode: crop (the default, RandomCropDecodeResize); scaled: fuse_decode: scaled "
          "(Pillow draft decode + Resize); ratios: medians of the per-pair ratios, min-max")
    print(f"{'workers':>8} {'mm_train':>9} {'scaled':>7} {'by hand':>8} {'limit':>6} "
          f"{'mm/hand':>8} {'pairs':>11} {'mm/limit':>9} {'pairs':>11} {'scaled/hand':>12} {'scaled/limit':>13}  (img/s)")
    for workers, threads, res in rows:
        def ratio(a, b):
            values = [x / y for x, y in zip(res[a], res[b])]
            return med(values), min(values), max(values)
        hand, limit = ratio("mm_train", "by hand"), ratio("mm_train", "decode limit")
        scaled_hand, scaled_limit = ratio("mm_train scaled", "by hand"), ratio("mm_train scaled", "decode limit")
        label = f"auto={threads}" if workers == "auto" else str(workers)
        print(f"{label:>8} {med(res['mm_train']):>9.0f} {med(res['mm_train scaled']):>7.0f} {med(res['by hand']):>8.0f} "
              f"{med(res['decode limit']):>6.0f} {hand[0]:>8.2f} {hand[1]:>5.2f}-{hand[2]:<5.2f} "
              f"{limit[0]:>9.2f} {limit[1]:>5.2f}-{limit[2]:<5.2f} {scaled_hand[0]:>12.2f} {scaled_limit[0]:>13.2f}")
    if variant_rows:
        base = variant_rows["mm_train default"]
        print(f"pipeline settings at auto workers (ratio to mm_train's default, per pair):")
        for name, values in variant_rows.items():
            pairs = [a / b for a, b in zip(values, base)]
            print(f"  {name:<32} {med(values):>8.0f} img/s {med(pairs):>6.2f} ({min(pairs):.2f}-{max(pairs):.2f})")


def _with_prefetch(size: int, root: Path) -> float:
    import mindspore.dataset as ds
    old = ds.config.get_prefetch_size()
    ds.config.set_prefetch_size(size)
    try:
        return one_epoch(framework(root, "auto"))
    finally:
        ds.config.set_prefetch_size(old)


if __name__ == "__main__":
    main()
