"""Convert the UCI handwritten digits (as shipped with scikit-learn) to MindRecord.

Run once; the output is committed under mm_train/bundled/digits/:

    pip install scikit-learn && python scripts/make_digits.py

1,797 grey 8x8 images of the digits 0-9 (pixel values 0-16), E. Alpaydin and
C. Kaynak, UCI Machine Learning Repository, CC BY 4.0. Each image is scaled to
0-255 and stored as PNG bytes; a fixed permutation (seed 0) puts 1,437 images
in train.mindrecord and 360 in test.mindrecord.
"""
import io
from pathlib import Path

import numpy as np
from PIL import Image
from mindspore.mindrecord import FileWriter
from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parent.parent / "mm_train" / "bundled" / "digits"
SCHEMA = {"image": {"type": "bytes"}, "label": {"type": "int32"}}


def png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.round(image * 255 / 16).astype(np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def write(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    writer = FileWriter(str(path), shard_num=1, overwrite=True)
    writer.set_header_size(1 << 16)   # small pages: the files are committed (default pages are 32 MB)
    writer.set_page_size(1 << 16)
    writer.add_schema(SCHEMA, "UCI handwritten digits, 8x8 PNG")
    writer.write_raw_data([{"image": png(x), "label": int(y)} for x, y in zip(images, labels)])
    writer.commit()


def main() -> None:
    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    train, test = order[:1437], order[1437:]
    OUT.mkdir(parents=True, exist_ok=True)
    write(OUT / "train.mindrecord", digits.images[train], digits.target[train])
    write(OUT / "test.mindrecord", digits.images[test], digits.target[test])
    print(f"wrote {len(train)} train and {len(test)} test images to {OUT}")


if __name__ == "__main__":
    main()
