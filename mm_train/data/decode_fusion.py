"""Decode + RandomResizedCrop as one op that decodes less: only the crop (the default) or scaled down.

Users write the familiar ImageNet pair (torchvision, MindCV, timm)::

    dataset:
      type: image_folder                  # the reader decodes: its first op is Decode
      train: {transforms: [{type: RandomResizedCrop, size: 224}, {type: RandomHorizontalFlip}, ...]}

and the train split's pipeline starts with one op instead of ``Decode`` then
``RandomResizedCrop(224)``, with the same size, scale, ratio, interpolation and max_attempts
and the same crop-box distribution (``python bench/jpeg_pipeline.py`` times them)::

    dataset:
      fuse_decode: crop     # the default (true means it too): MindSpore's RandomCropDecodeResize,
                            #   libjpeg decodes the crop's blocks at full scale
      fuse_decode: scaled   # RandomCropScaledDecodeResize (data/scaled_decode.py) + Resize: libjpeg
                            #   decodes the whole image at 1/2, 1/4 or 1/8 scale when the crop stays
                            #   >= size (crops at least twice the output), MindSpore resizes the crop
      fuse_decode: false    # Decode + RandomResizedCrop as written

On ImageNet-size images (~500x375) and a 224 output, 98 % of the boxes are under 448 pixels on a
side, so ``scaled`` rarely reduces and decodes whole images where ``crop`` decodes only the box:
``crop`` is the default (docs/performance.md, section 7b).

It applies when the ops begin Decode (the reader's, or a ``{type: Decode}`` transform)
directly followed by RandomResizedCrop. Other splits are left as written. run_info.json
records the result (``data_pipeline.train.fused_decode``: ``crop``, ``scaled`` or false).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import mindspore.dataset.vision as vision

FUSED = "RandomCropDecodeResize"
MODES = ("crop", "scaled")      # dataset.fuse_decode; true is the first, the default (the faster on ImageNet sizes)


def fusion_mode(value: Any, where: str) -> str | bool:
    """``dataset.fuse_decode`` as ``"crop"``, ``"scaled"`` or False (true: the default, ``"crop"``)."""
    from mm_train.core.errors import ConfigError, closest
    if value is True:
        return MODES[0]
    if value is False or value in MODES:
        return value
    raise ConfigError(where, f"got {value!r}", expected="crop (the default; true means it too), scaled or false",
                      suggestions=closest(value, MODES) if isinstance(value, str) else ())


def _is_decode_spec(spec: Any) -> bool:
    return isinstance(spec, Mapping) and spec.get("type") == "Decode" and not spec.get("to_pil", False)


def _is_crop_spec(spec: Any) -> bool:
    return isinstance(spec, Mapping) and spec.get("type") == "RandomResizedCrop"


def fuse_decode(reader_ops: Sequence[Any], specs: Sequence[Any], where: str,
                mode: str = MODES[0]) -> tuple[list, list, str | bool]:
    """``(reader_ops, specs, fused)`` with a leading Decode + RandomResizedCrop replaced by the fused op.

    ``fused`` is ``mode`` when it applied, else False. Example::

        ops, specs, fused = fuse_decode([vision.Decode()], [{"type": "RandomResizedCrop", "size": 224}],
                                        "dataset.train.transforms")
        # ops == [RandomCropDecodeResize(224)], specs == [], fused == "crop"
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
    if mode == "crop":
        return [build_transform({**crop, "type": FUSED}, f"{where}[{index}]")], rest, mode
    return scaled_ops(build_transform(crop, f"{where}[{index}]")), rest, mode


def scaled_ops(crop) -> list:
    """``[RandomCropScaledDecodeResize(resize=False), Resize]`` with the arguments of a built ``RandomResizedCrop``
    (or of the ``RandomChoice`` of them that ``interpolation: random`` builds): the Python op decodes and crops,
    MindSpore's Resize (the interpolation RandomResizedCrop uses) resizes the crop."""
    import mindspore.dataset.transforms as T
    from mm_train.data.scaled_decode import RandomCropScaledDecodeResize
    choices = list(getattr(crop, "transforms", None) or [crop])
    first = choices[0]
    decode = RandomCropScaledDecodeResize(first.size, first.scale, first.ratio, [c.interpolation for c in choices],
                                          first.max_attempts, resize=False)
    resizes = [vision.Resize(decode.size, c.interpolation) for c in choices]
    return [decode, resizes[0] if len(resizes) == 1 else T.RandomChoice(resizes)]
