"""Decode + RandomResizedCrop that also scales down: libjpeg's DCT scaling (Pillow's ``draft``).

``RandomCropScaledDecodeResize(size=224)`` draws the crop box exactly as MindSpore's
``RandomResizedCrop`` does (area fraction uniform in ``scale``, log aspect ratio uniform in
``ratio``, ``max_attempts`` tries, then the centre fallback), then decodes a JPEG at the largest
DCT reduction (1/2, 1/4, 1/8) that keeps the box at least ``size`` pixels on each side, crops
the box (in the reduced image's coordinates) and resizes it to ``size`` with the same
interpolation: in Pillow, or, with ``resize=False``, by the MindSpore ``Resize`` that follows it.
libjpeg's scaled inverse DCT averages each block's pixels (an area-like downscale); a box too
small to reduce gives exactly Decode + crop + Resize's pixels (tests/test_scaled_decode.py).
It pays for boxes at least twice the output on each side (a 1600x1200 photo cropped to half its
area is decoded at 1/2 for a 224 output: 1.36x ``RandomCropDecodeResize`` on such photos); at
ImageNet's ~500x375 and 224,
98 % of the boxes are smaller, the whole image is decoded at full scale where MindSpore's
``RandomCropDecodeResize`` decodes only the box, and it ran at 0.77-0.95x that op
(docs/performance.md, section 7b). PNGs and other formats are decoded at full size.

It is a Python callable for ``Dataset.map``: bytes in (the image column of an image folder),
an HWC uint8 RGB array out; flip, Normalize and HWC2CHW after it stay MindSpore's C++ ops.
Pillow releases the GIL while it decodes and resizes, so the map's worker threads run it in
parallel (worker processes were 3x slower: bench/jpeg_pipeline.py --variants).
mm_train/data/decode_fusion.py puts it, with ``resize=False`` and MindSpore's ``Resize``, in
place of a recipe's Decode + RandomResizedCrop with ``dataset.fuse_decode: scaled``::

    op = RandomCropScaledDecodeResize(224)
    image = op(np.fromfile("cat.jpg", np.uint8))      # (224, 224, 3) uint8

Seeds: like MindSpore's random ops, it draws from ``ds.config.get_seed()`` (read at its first
image) when one is set and from the operating system otherwise; with one worker a seeded
pipeline repeats its crops.
"""
from __future__ import annotations

import io
import math
import os
import random
import threading
from typing import Sequence

import numpy as np
from PIL import Image

from mindspore.dataset.vision import Inter

DEFAULT_SEED = 5489          # std::mt19937's default: MindSpore then seeds its random ops from /dev/urandom
TAG = "[mm_train op RandomCropScaledDecodeResize]"   # in its errors: data/failures.py names the file
REDUCTIONS = (8, 4, 2)       # libjpeg's DCT scales 1/8, 1/4, 1/2 (Pillow's draft picks among these)
RESAMPLE = {Inter.NEAREST: Image.Resampling.NEAREST, Inter.BILINEAR: Image.Resampling.BILINEAR,
            Inter.BICUBIC: Image.Resampling.BICUBIC, Inter.PILCUBIC: Image.Resampling.BICUBIC,
            Inter.AREA: Image.Resampling.BOX, Inter.ANTIALIAS: Image.Resampling.LANCZOS}


def _round(value: float) -> int:
    """C++'s std::round (halves away from zero), not Python's round (halves to even)."""
    return int(math.floor(value + 0.5))


def _pair(size) -> tuple[int, int]:
    return (int(size), int(size)) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))


class RandomCropScaledDecodeResize:
    """Decode, random-resized-crop and resize in one step, JPEGs decoded at a reduced DCT scale.

    ``size`` is ``(height, width)`` or one int; ``scale``, ``ratio``, ``max_attempts`` and
    ``interpolation`` (one :class:`~mindspore.dataset.vision.Inter` or a sequence of them, one
    drawn per image like timm's ``interpolation='random'``) mean what they mean for
    ``vision.RandomResizedCrop``.
    """

    def __init__(self, size, scale: Sequence[float] = (0.08, 1.0), ratio: Sequence[float] = (3 / 4, 4 / 3),
                 interpolation=Inter.BILINEAR, max_attempts: int = 10, resize: bool = True):
        self.size = _pair(size)
        self.resize = resize
        self.scale = (float(scale[0]), float(scale[1]))
        self.ratio = (float(ratio[0]), float(ratio[1]))
        self.interpolation = tuple(interpolation) if isinstance(interpolation, (list, tuple)) else (interpolation,)
        self.resamples = tuple(RESAMPLE[Inter(i)] for i in self.interpolation)
        self.max_attempts = int(max_attempts)
        self._creator, self._rng, self._pid, self._lock = os.getpid(), None, None, threading.Lock()

    def __getstate__(self):          # python_multiprocessing pickles the op: locks do not pickle
        state = dict(self.__dict__)
        state.update(_rng=None, _pid=None, _lock=None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _random(self) -> random.Random:
        """The op's generator; a worker process gets its own (a forked copy would repeat the parent's draws)."""
        import mindspore.dataset as ds
        pid = os.getpid()
        if self._pid != pid:      # first draw: the seed the pipeline started with, as MindSpore's ops read it
            seed = ds.config.get_seed()
            seed = None if seed == DEFAULT_SEED else seed if pid == self._creator else f"{seed}-{pid}"
            self._rng, self._pid = random.Random(seed), pid
        return self._rng

    def crop_box(self, width: int, height: int, rng: random.Random | None = None) -> tuple[int, int, int, int]:
        """``(x, y, crop_width, crop_height)``: MindSpore's RandomResizedCrop rule (random_crop_and_resize_op.cc).

        Width from the drawn area and aspect ratio, height from the rounded width; a box that does not
        fit is drawn again, ``max_attempts`` times, then the whole image clipped to ``ratio``, centred.
        """
        rng = rng or self._random()
        area = width * height
        log_lo, log_hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        for _ in range(self.max_attempts):
            target = area * rng.uniform(*self.scale)
            aspect = math.exp(rng.uniform(log_lo, log_hi))
            crop_w = max(1, _round(math.sqrt(target * aspect)))
            crop_h = max(1, _round(crop_w / aspect))
            if crop_w <= width and crop_h <= height:
                return rng.randint(0, width - crop_w), rng.randint(0, height - crop_h), crop_w, crop_h
        crop_w, crop_h = width, height
        if width / height < self.ratio[0]:
            crop_h = max(1, _round(width / self.ratio[0]))
        elif width / height > self.ratio[1]:
            crop_w = max(1, _round(height * self.ratio[1]))
        return _round((width - crop_w) / 2), _round((height - crop_h) / 2), crop_w, crop_h

    def reduction(self, crop_w: int, crop_h: int) -> int:
        """The largest DCT reduction (8, 4, 2, else 1) that leaves the crop at least ``size`` on each side."""
        out_h, out_w = self.size
        return next((s for s in REDUCTIONS if crop_w >= s * out_w and crop_h >= s * out_h), 1)

    def decode(self, data, box: tuple[int, int, int, int] | None = None, resample=None) -> np.ndarray:
        """The HWC uint8 RGB array of the crop ``box`` (drawn when None) of the encoded image ``data``.

        A file Pillow cannot decode raises ValueError tagged ``[mm_train op NAME]``: data/failures.py
        turns MindSpore's ``[PyFunc] failed`` around it into the message that names the file."""
        try:
            return self._decode(data, box, resample)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
            raise ValueError(f"{TAG} cannot decode the image: {err}") from None

    def _decode(self, data, box, resample) -> np.ndarray:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        if box is None:
            with self._lock:
                box = self.crop_box(width, height)
                if resample is None and self.resize and len(self.resamples) > 1:
                    resample = self._random().choice(self.resamples)
        x, y, crop_w, crop_h = box
        reduction = self.reduction(crop_w, crop_h) if image.format == "JPEG" else 1
        if reduction > 1:
            image.draft("RGB", (width // reduction, height // reduction))   # exactly 1/reduction (Pillow's rule)
            if image.size != (-(-width // reduction), -(-height // reduction)):
                reduction = 1 if image.size == (width, height) else width / image.size[0]
        if image.mode != "RGB":
            image = image.convert("RGB")
        scaled = (x / reduction, y / reduction, (x + crop_w) / reduction, (y + crop_h) / reduction)
        if not self.resize:   # the (scaled) crop itself: MindSpore's Resize follows
            return np.asarray(image.crop(tuple(_round(v) for v in scaled)))
        out_h, out_w = self.size
        resized = image.resize((out_w, out_h), resample if resample is not None else self.resamples[0], box=scaled)
        return np.asarray(resized)

    def __call__(self, data: np.ndarray) -> np.ndarray:
        return self.decode(data)

    def __repr__(self) -> str:
        return (f"RandomCropScaledDecodeResize(size={self.size}, scale={self.scale}, ratio={self.ratio}, "
                f"interpolation={[i.name for i in map(Inter, self.interpolation)]}, max_attempts={self.max_attempts})")
