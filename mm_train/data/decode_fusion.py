"""Decode + RandomResizedCrop as one op: ``vision.RandomCropDecodeResize`` decodes only the crop.

Users write the familiar ImageNet pair (torchvision, MindCV, timm)::

    dataset:
      type: image_folder                  # the reader decodes: its first op is Decode
      train: {transforms: [{type: RandomResizedCrop, size: 224}, {type: RandomHorizontalFlip}, ...]}

and the train split's pipeline starts with ``RandomCropDecodeResize(size=224)`` instead of
``Decode`` then ``RandomResizedCrop(224)``: same size, scale, ratio, interpolation and
max_attempts, the same crop-box distribution, but libjpeg decodes only the rows and
columns of the crop (``python bench/jpeg_pipeline.py``). It applies when the ops begin
Decode (the reader's, or a ``{type: Decode}`` transform) directly followed by
RandomResizedCrop; ``dataset.fuse_decode: false`` keeps the pair. Other splits are left
as written. run_info.json records the result (``data_pipeline.train.fused_decode``).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import mindspore.dataset.vision as vision

FUSED = "RandomCropDecodeResize"


def _is_decode_spec(spec: Any) -> bool:
    return isinstance(spec, Mapping) and spec.get("type") == "Decode" and not spec.get("to_pil", False)


def _is_crop_spec(spec: Any) -> bool:
    return isinstance(spec, Mapping) and spec.get("type") == "RandomResizedCrop"


def fuse_decode(reader_ops: Sequence[Any], specs: Sequence[Any], where: str) -> tuple[list, list, bool]:
    """``(reader_ops, specs, fused)`` with a leading Decode + RandomResizedCrop replaced by the fused op.

    Example::

        ops, specs, fused = fuse_decode([vision.Decode()], [{"type": "RandomResizedCrop", "size": 224}],
                                        "dataset.train.transforms")
        # ops == [RandomCropDecodeResize(224)], specs == [], fused is True
    """
    from mm_train.data.transforms import build_transform

    reader_ops, specs = list(reader_ops), list(specs or [])
    reader_decodes = (len(reader_ops) == 1 and isinstance(reader_ops[0], vision.Decode)
                      and not getattr(reader_ops[0], "to_pil", False))
    if reader_decodes and specs and _is_crop_spec(specs[0]):
        crop, rest, index = specs[0], specs[1:], 0
    elif not reader_ops and len(specs) >= 2 and _is_decode_spec(specs[0]) and _is_crop_spec(specs[1]):
        crop, rest, index = specs[1], specs[2:], 1
    else:
        return reader_ops, specs, False
    fused = build_transform({**crop, "type": FUSED}, f"{where}[{index}]")
    return [fused], rest, True
