"""Failures inside MindSpore's data pipeline, as one ConfigError naming the file (and record).

MindSpore raises a RuntimeError whose text holds the operation and the file, e.g.
``map operation: [Decode] failed. The corresponding data file is: /data/val/cat/3.png. ...``;
:func:`data_error` turns it into ``/data/val/cat/3.png: the image cannot be decoded ...``
and :func:`reported_data_errors` raises that instead (run.py: exit 2, no traceback)::

    with reported_data_errors():
        model.train(epochs, train_data)
"""
from __future__ import annotations

import contextlib
import re
from typing import Iterator

from mm_train.core.errors import ConfigError

FAILED = re.compile(r"\[(?P<op>\w+)\] failed\. The corresponding data file is: (?P<file>.+?)\.(?:\s|$)"
                    r"(?P<detail>[^\n]*)")
PY_OP = re.compile(r"\[mm_train op (?P<op>\w+)\]")   # a Python op of mm_train's inside [PyFunc] (scaled_decode.py)
CHECK = re.compile(r"\[mm_train data check\|(?P<where>[^|]*)\|(?P<problem>[^|]*)\|(?P<expected>[^\]]*)\]")
BATCH_SHAPES = re.compile(r"(?:Inconsistent batch shapes|Cannot batch tensors with different shapes).*?"
                          r"shape[^<]*(?P<want><[^>]*>).*?shape[^<]*(?P<got><[^>]*>)", re.S)
UNDECODABLE = ("the image cannot be decoded (a truncated or damaged image, or not an image)",
               "a valid JPEG or PNG file: replace or remove it")
PROBLEMS = {
    "Decode": UNDECODABLE,
    "RandomCropDecodeResize": UNDECODABLE,         # Decode fused (decode_fusion.py)
    "RandomCropScaledDecodeResize": UNDECODABLE,   # fuse_decode: scaled (scaled_decode.py)
    "ParseExample": ("cannot parse the tf.train.Example",
                     "records that are serialized tf.train.Example messages with the declared features"),
}


def bad_record(path: str) -> str | None:
    """``record N: why`` for the first record of a TFRecord file that is badly framed or unparsable."""
    from mm_train.data.tfrecord_io import decode_example, read_records
    index = 0
    try:
        for index, record in enumerate(read_records(path)):
            decode_example(record)
    except (ValueError, OSError) as err:     # TFRecordError, UnicodeDecodeError
        text = str(err)
        return text if text.startswith("record ") else f"record {index}: {text}"
    return None


def data_error(err: BaseException) -> ConfigError | None:
    """The ConfigError for MindSpore's data-pipeline error ``err``, or None if it is not one.

    Example::

        data_error(RuntimeError("... [Decode] failed. The corresponding data file is: /d/x.png. ..."))
        # ConfigError("/d/x.png: the image cannot be decoded (...)")
    """
    if not isinstance(err, RuntimeError):
        return None
    checked = CHECK.search(str(err))
    if checked:   # mm_train.data.checks: label range, NaN/Inf, with the file and record
        return ConfigError(checked["where"], checked["problem"], expected=checked["expected"])
    shapes = BATCH_SHAPES.search(str(err))
    if shapes:
        return ConfigError("dataset", f"samples of different shapes reach the batch: {shapes['want']} and "
                           f"{shapes['got']} (an image of another size, e.g. a smaller one the transforms do not resize)",
                           expected="transforms that give every image one size ({type: Resize, size: [H, W]}), "
                           "or remove the odd image")
    found = FAILED.search(str(err))
    if found is None:
        return None
    op, path, detail = found["op"], found["file"], found["detail"].strip()
    named = PY_OP.search(str(err)) if op == "PyFunc" else None
    op = named["op"] if named else op
    problem, expected = PROBLEMS.get(op, (f"the data pipeline's {op} failed: {detail[:200]}", None))
    if op == "ParseExample" or path.endswith((".tfrecord", ".tfrec")) or ".tfrecord-" in path:
        where = bad_record(path)
        problem = f"{where} ({problem})" if where else problem
    return ConfigError(path, problem, expected=expected)


@contextlib.contextmanager
def reported_data_errors() -> Iterator[None]:
    """Re-raise MindSpore's data-pipeline RuntimeErrors as the ConfigError of :func:`data_error`."""
    try:
        yield
    except RuntimeError as err:
        converted = data_error(err)
        if converted is None:
            raise
        raise converted from None
