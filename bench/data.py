"""Images/s of each reader with the standard CIFAR augmentation, mm_train vs plain MindSpore.

    python bench/data.py [--images 10000] [--repeats 3] [--workers 1 2]

Writes a CIFAR-10 test file (10,000 images) and the same images as MindRecord, TFRecord
(PNG bytes) and a PNG image folder into a temp dir, then times one epoch of each
pipeline: mm_train's ``build_dataset`` from a recipe-like dict next to the same pipeline
written by hand in plain MindSpore. Runs alternate (framework, hand, framework, ...)
and the table shows medians; ratio = framework / hand (1.00 = same speed).
The machine may be shared: see the ratio columns' notes in the output.

A second table shows what checking the data before training costs (issue 12): the TFRecord
verification of every record's checksums (first pass, and a rerun that finds the cached
marker) and the image folder's signature check, next to the build without them and one epoch.
``--verify-only`` prints only that table.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
os.environ.setdefault("GLOG_v", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import mindspore as ms  # noqa: E402
import mindspore.dataset as ds  # noqa: E402
import mindspore.dataset.transforms as T  # noqa: E402
import mindspore.dataset.vision as vision  # noqa: E402

from mm_train.data import build_dataset  # noqa: E402
from mm_train.data import convert  # noqa: E402

MEAN, STD = [0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]
RECIPE_TRANSFORMS = [{"type": "RandomCrop", "size": 32, "padding": 4},
                     {"type": "RandomHorizontalFlip", "prob": 0.5},
                     {"type": "Rescale", "rescale": 1 / 255, "shift": 0.0},
                     {"type": "Normalize", "mean": MEAN, "std": STD},
                     {"type": "HWC2CHW"}]
BATCH = 32
READERS = ("cifar10", "mindrecord", "tfrecord", "image_folder")


def write_data(root: Path, n: int) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    cifar = root / "cifar-10-batches-bin"
    cifar.mkdir()
    labels = np.arange(10_000) % 10
    images = rng.integers(0, 256, size=(10_000, 3072), dtype=np.uint8)
    (cifar / "test_batch.bin").write_bytes(np.concatenate([labels[:, None].astype(np.uint8), images], 1).tobytes())
    convert.convert("cifar10", str(cifar), "mindrecord", str(root / "c.mindrecord"), usage="test", limit=n)
    convert.convert("cifar10", str(cifar), "tfrecord", str(root / "c.tfrecord"), shards=2, usage="test", limit=n)
    for i, (image, label) in enumerate(convert.cifar_samples(str(cifar), "test")):
        if i >= n:
            break
        folder = root / "images" / "train" / f"class_{label}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:05d}.png").write_bytes(image)
    return {"cifar": cifar, "mindrecord": root / "c.mindrecord", "tfrecord": root / "c.tfrecord-*",
            "images": root / "images"}


def framework(reader: str, paths, workers: int, n: int):
    cfg = {"cifar10": {"type": "cifar10", "path": str(paths["cifar"]), "usage": "test"},
           "mindrecord": {"type": "mindrecord", "path": str(paths["mindrecord"])},
           "tfrecord": {"type": "tfrecord", "path": str(paths["tfrecord"]),
                        "features": {"image": {"type": "bytes"}, "label": {"type": "int64"}}},
           "image_folder": {"type": "image_folder", "path": str(paths["images"])}}[reader]
    split = {"batch_size": BATCH, "shuffle": True, "num_parallel_workers": workers, "transforms": RECIPE_TRANSFORMS}
    if reader == "cifar10" and n < 10_000:
        split["limit"] = n
    return build_dataset({**cfg, "train": split}, "train")


def by_hand(reader: str, paths, workers: int, n: int):
    if reader == "cifar10":
        data = ds.Cifar10Dataset(str(paths["cifar"]), usage="test", shuffle=True, num_parallel_workers=workers,
                                 num_samples=n if n < 10_000 else None)
        decode = []
    elif reader == "mindrecord":
        data = ds.MindDataset(str(paths["mindrecord"]), columns_list=["image", "label"], shuffle=True,
                              num_parallel_workers=workers)
        decode = [vision.Decode()]
    elif reader == "tfrecord":
        schema = ds.Schema()
        schema.add_column("image", de_type=ms.uint8)
        schema.add_column("label", de_type=ms.int64, shape=[])
        files = sorted(str(p) for p in Path(paths["tfrecord"]).parent.glob(Path(paths["tfrecord"]).name))
        data = ds.TFRecordDataset(files, schema=schema, shuffle=ds.Shuffle.GLOBAL, num_parallel_workers=workers)
        decode = [vision.Decode()]
    else:
        data = ds.ImageFolderDataset(str(paths["images"] / "train"), shuffle=True, num_parallel_workers=workers)
        decode = [vision.Decode()]
    ops = decode + [vision.RandomCrop(32, padding=4), vision.RandomHorizontalFlip(0.5),
                    vision.Rescale(1 / 255, 0.0), vision.Normalize(MEAN, STD), vision.HWC2CHW()]
    data = data.map(operations=ops, input_columns="image", num_parallel_workers=workers)
    data = data.map(operations=T.TypeCast(ms.int32), input_columns="label", num_parallel_workers=workers)
    return data.batch(BATCH, drop_remainder=True)


def differences(a, b, path="") -> list[str]:
    """Key paths where two serialized pipelines differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [path.lstrip(".")]


def one_epoch(make) -> tuple[float, float]:
    """(images per wall-clock second, images per CPU second of this process) for one epoch."""
    data = make()
    wall, cpu = time.perf_counter(), time.process_time()
    count = 0
    for image, _ in data.create_tuple_iterator(output_numpy=True, num_epochs=1):
        count += image.shape[0]
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def verification_table(paths, n: int, repeats: int) -> None:
    """Seconds to build each pipeline without and with the up-front data check, next to one epoch."""
    import shutil
    med = statistics.median
    cache = Path(paths["cifar"]).parent / "cache"
    os.environ["MM_TRAIN_CACHE_DIR"] = str(cache)
    print(f"\nchecking the data before training (issue 12), {n} images, 1 worker, medians of {repeats} runs")
    print(f"{'reader':<13}{'build s':>9}{'+check s':>10}{'cached s':>10}{'epoch s':>9}{'check/epoch':>13}"
          f"{'us/image':>10}")
    for reader in ("tfrecord", "image_folder"):
        plain, checked, cached = [], [], []
        for _ in range(repeats):
            plain.append(timed(lambda: build_with(reader, paths, n, False)))
            shutil.rmtree(cache, ignore_errors=True)
            checked.append(timed(lambda: build_with(reader, paths, n, True)))
            cached.append(timed(lambda: build_with(reader, paths, n, True)))
        epoch = med([timed(lambda: sum(1 for _ in build_with(reader, paths, n, False).create_tuple_iterator(
            output_numpy=True, num_epochs=1))) for _ in range(max(1, repeats // 2))])
        cost = med(checked) - med(plain)
        cached_text = f"{med(cached):>10.3f}" if reader == "tfrecord" else f"{'-':>10}"
        print(f"{reader:<13}{med(plain):>9.3f}{med(checked):>10.3f}{cached_text}{epoch:>9.2f}{cost / epoch:>13.3f}"
              f"{cost / n * 1e6:>10.1f}")
    print("build s: build_dataset with verify: false; +check s: with verify: true (TFRecord: empty cache);")
    print("cached s: verify: true again (the (path, size, mtime) marker is found); check/epoch: the check's cost")
    print("as a fraction of one epoch (RandomCrop + flip + Normalize, batch 32)")


def build_with(reader: str, paths, n: int, verify: bool):
    cfg = {"tfrecord": {"type": "tfrecord", "path": str(paths["tfrecord"]),
                        "features": {"image": {"type": "bytes"}, "label": {"type": "int64"}}},
           "image_folder": {"type": "image_folder", "path": str(paths["images"])}}[reader]
    split = {"batch_size": BATCH, "shuffle": True, "num_parallel_workers": 1, "transforms": RECIPE_TRANSFORMS}
    return build_dataset({**cfg, "verify": verify, "train": split}, "train")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--readers", nargs="+", default=list(READERS), choices=READERS)
    parser.add_argument("--verify-only", action="store_true", help="only the table of the data checks' cost")
    args = parser.parse_args()
    ds.config.set_seed(0)
    with tempfile.TemporaryDirectory(prefix="mm_train_bench_data_") as tmp:
        paths = write_data(Path(tmp), args.images)
        if args.verify_only:
            verification_table(paths, args.images, args.repeats)
            return
        rows = []
        for reader in args.readers:
            for workers in args.workers:
                ours_fn = lambda: framework(reader, paths, workers, args.images)  # noqa: E731
                hand_fn = lambda: by_hand(reader, paths, workers, args.images)    # noqa: E731
                one_epoch(hand_fn)                                                  # warm-up
                ours, hand = [], []
                for i in range(args.repeats):                                      # alternate, order swapped
                    if i % 2:
                        hand.append(one_epoch(hand_fn))
                        ours.append(one_epoch(ours_fn))
                    else:
                        ours.append(one_epoch(ours_fn))
                        hand.append(one_epoch(hand_fn))
                diff = differences(ds.serialize(ours_fn()), ds.serialize(hand_fn()))
                rows.append((reader, workers, ours, hand, diff))
                print(f"  {reader} x{workers}: mm_train {[round(x) for x, _ in ours]}, "
                      f"plain {[round(x) for x, _ in hand]}", file=sys.stderr, flush=True)
        verification_table(paths, args.images, args.repeats)
    med = statistics.median
    print(f"{args.images} images, batch {BATCH}, RandomCrop(32, 4) + RandomHorizontalFlip + Rescale + Normalize "
          f"+ HWC2CHW; {args.repeats} alternating runs each")
    print("ratio = mm_train / plain: median of the per-pair ratios (runs back to back share the machine's load),")
    print("best = ratio of the best runs, cpu = ratio of images per CPU-second (insensitive to other load)")
    print(f"{'reader':<13}{'workers':>8}{'mm_train img/s':>16}{'plain img/s':>13}{'ratio':>7}{'best':>7}{'cpu':>7}")
    for reader, workers, ours, hand, _ in rows:
        pair = med([o[0] / h[0] for o, h in zip(ours, hand)])
        best = max(o[0] for o in ours) / max(h[0] for h in hand)
        cpu = med([o[1] for o in ours]) / med([h[1] for h in hand])
        print(f"{reader:<13}{workers:>8}{med([o[0] for o in ours]):>16.0f}{med([h[0] for h in hand]):>13.0f}"
              f"{pair:>7.2f}{best:>7.2f}{cpu:>7.2f}")
    print("\nmm_train's pipeline next to the hand-written one (mindspore.dataset.serialize):")
    for reader, workers, _, _, diff in rows:
        keys = sorted({"class_indexing" if "class_indexing" in d else d.rsplit(".", 1)[-1] for d in diff})
        print(f"  {reader} x{workers}: " + ("identical" if not diff else "differs only in " + ", ".join(keys)))


if __name__ == "__main__":
    main()
