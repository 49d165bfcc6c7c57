"""``mm-train data convert|download``: data sets to sharded MindRecord / TFRecord, public data sets fetched.

    mm-train data convert cifar10 data/cifar-10-batches-bin out/train.mindrecord --usage train --shards 2
    mm-train data download cifar10 --dest data
"""
from __future__ import annotations

from mm_train.commands.parsers import add_command, add_group
from mm_train.core.device import set_environment


def convert_command(args) -> int:
    set_environment()
    from mm_train.data.convert import convert
    files, count = convert(args.source, args.src, args.to, args.dest, shards=args.shards, usage=args.usage,
                           image_key=args.image_key, label_key=args.label_key, limit=args.limit)
    print(f"wrote {count} samples to {len(files)} {args.to} file(s):")
    for f in files:
        print(f"  {f}")
    return 0


def download_command(args) -> int:
    from mm_train.data.download import download
    folder = download(args.name, args.dest, url=args.url, md5=args.md5, sha256=args.sha256)
    print(f"{args.name} is in {folder}")
    return 0


def add_to(sub) -> None:
    from mm_train.data.convert import SOURCES, TARGETS
    from mm_train.data.download import KNOWN

    actions = add_group(sub, "data", "convert and download data sets",
                        "mm-train data download cifar10 --dest data")
    convert = add_command(actions, "convert", "convert a data set to sharded MindRecord or TFRecord",
                          "mm-train data convert cifar10 data/cifar-10-batches-bin out/train.mindrecord "
                          "--usage train --shards 2 --to mindrecord", convert_command)
    convert.add_argument("source", choices=SOURCES, help="format of SRC")
    convert.add_argument("src", help="CIFAR folder, image-folder root, TFRecord file/glob or .mindrecord file")
    convert.add_argument("dest", help="output file (shards get a suffix: DEST0.. / DEST-00000-of-00002)")
    convert.add_argument("--to", choices=TARGETS, default="mindrecord", help="output format (default mindrecord)")
    convert.add_argument("--shards", type=int, default=1, help="number of output files (default 1)")
    convert.add_argument("--usage", help="split to convert: train/test (CIFAR), train/val/... (image folder)")
    convert.add_argument("--image-key", default="image", help="image feature/column of a TFRecord/MindRecord SRC")
    convert.add_argument("--label-key", default="label", help="label feature/column of a TFRecord/MindRecord SRC")
    convert.add_argument("--limit", type=int, help="convert only the first N samples")
    down = add_command(actions, "download", "download and unpack a public data set (checked, atomic)",
                       "mm-train data download cifar10 --dest data", download_command)
    down.add_argument("name", choices=sorted(KNOWN))
    down.add_argument("--dest", required=True, help="folder to put the data set folder in")
    down.add_argument("--url", help="fetch from this URL instead of the official one")
    check = down.add_mutually_exclusive_group()
    check.add_argument("--sha256", help="expected sha256 of the archive (instead of the known md5)")
    check.add_argument("--md5", help="expected md5 of the archive")
