"""timm's RandAugment, with the options MindSpore's ``vision.RandAugment`` lacks.

    - {type: RandAugmentTimm, config: rand-m9-mstd0.5-inc1}          # timm's string, as in its recipes
    - {type: RandAugmentTimm, num_ops: 2, magnitude: 9, magnitude_std: 0.5, increasing: true, prob: 0.5}

MindSpore's ``RandAugment`` (also registered, under that name) follows torchvision: ``magnitude``
is a bin of ``num_magnitude_bins`` (default 31), every chosen op is applied, signs are random.
timm's differs, and this op follows timm (``timm/data/auto_augment.py``):

- ``magnitude`` is on a 0..``magnitude_max`` (10) scale; with ``magnitude_std`` > 0 each op call
  draws ``N(magnitude, magnitude_std)`` (``inf``: uniform in [0, magnitude]), clipped to [0, max];
- each of the ``num_ops`` ops (drawn with replacement) is applied with probability ``prob`` (0.5);
- ``increasing: true`` uses the ops whose strength grows with the magnitude (PosterizeIncreasing,
  SolarizeIncreasing, Color/Contrast/Brightness/SharpnessIncreasing: ``1 +- 0.9 * m / 10``);
- geometric ops fill with ``fill_value`` (timm: the ImageNet mean, [124, 116, 104]) and use a random
  one of bilinear / bicubic (``interpolation: random``, timm's default) or the one named.

Works on HWC uint8 images (before Rescale/HWC2CHW), like the other PIL-based ops.
"""
from __future__ import annotations

import math
import random
import re
from typing import Literal, Optional, Sequence

import numpy as np

from mm_train.registry import TRANSFORMS

OPS = ("AutoContrast", "Equalize", "Invert", "Rotate", "Posterize", "Solarize", "SolarizeAdd", "Color", "Contrast",
       "Brightness", "Sharpness", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel")
INCREASING = {"Posterize": "PosterizeIncreasing", "Solarize": "SolarizeIncreasing", "Color": "ColorIncreasing",
              "Contrast": "ContrastIncreasing", "Brightness": "BrightnessIncreasing",
              "Sharpness": "SharpnessIncreasing"}
CONFIG = re.compile(r"^rand(-(m[0-9.]+|n[0-9]+|mstd[0-9.inf]+|mmax[0-9.]+|inc[01]|p[0-9.]+|w[0-9]+))*$")


def _signed(value: float, rng: random.Random) -> float:
    return -value if rng.random() < 0.5 else value


class RandAugmentTimm:
    """timm's ``RandAugment`` on an HWC uint8 array; see the module doc for the options."""

    def __init__(self, num_ops: int = 2, magnitude: float = 9, magnitude_std: float = 0.0, increasing: bool = False,
                 prob: float = 0.5, magnitude_max: float = 10.0, fill_value: Sequence[int] = (124, 116, 104),
                 interpolation: str = "random", seed: Optional[int] = None):
        self.num_ops, self.magnitude, self.magnitude_std = int(num_ops), float(magnitude), float(magnitude_std)
        self.prob, self.magnitude_max = float(prob), float(magnitude_max)
        self.ops = [INCREASING.get(op, op) if increasing else op for op in OPS]
        self.fill = tuple(int(v) for v in fill_value)
        self.interpolation = interpolation
        self.rng = random.Random(seed)

    def draw_magnitude(self) -> float:
        m = self.magnitude
        if self.magnitude_std == float("inf"):
            m = self.rng.uniform(0, m)
        elif self.magnitude_std > 0:
            m = self.rng.gauss(m, self.magnitude_std)
        return max(0.0, min(self.magnitude_max, m))

    def _resample(self):
        from PIL import Image
        choices = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "nearest": Image.NEAREST}
        if self.interpolation == "random":
            return self.rng.choice([Image.BILINEAR, Image.BICUBIC])
        return choices[self.interpolation]

    def apply(self, image, name: str, m: float):
        """One op at magnitude ``m`` (0..10 scale) on a PIL image."""
        from PIL import Image, ImageEnhance, ImageOps
        level = m / 10.0
        geometric = {"fillcolor": self.fill[:len(image.getbands())], "resample": self._resample()}
        w, h = image.size
        if name == "AutoContrast":
            return ImageOps.autocontrast(image)
        if name == "Equalize":
            return ImageOps.equalize(image)
        if name == "Invert":
            return ImageOps.invert(image)
        if name == "Rotate":
            return image.rotate(_signed(level * 30.0, self.rng), resample=geometric["resample"],
                                fillcolor=geometric["fillcolor"])
        if name in ("Posterize", "PosterizeIncreasing"):
            bits = int(level * 4) if name == "Posterize" else 4 - int(level * 4)
            mask = (0xFF << (8 - bits)) & 0xFF              # keep ``bits`` high bits (0: black)
            return Image.fromarray(np.asarray(image) & np.uint8(mask))
        if name == "Solarize":
            return ImageOps.solarize(image, int(level * 256))
        if name == "SolarizeIncreasing":
            return ImageOps.solarize(image, 256 - int(level * 256))
        if name == "SolarizeAdd":
            add = int(level * 110)
            array = np.asarray(image).astype(np.int32)
            return Image.fromarray(np.where(array < 128, np.minimum(array + add, 255), array).astype(np.uint8))
        if name in ("Color", "Contrast", "Brightness", "Sharpness"):
            return getattr(ImageEnhance, name)(image).enhance(level * 1.8 + 0.1)
        if name.endswith("Increasing"):
            factor = max(0.0, 1.0 + _signed(level * 0.9, self.rng))
            return getattr(ImageEnhance, name.removesuffix("Increasing"))(image).enhance(factor)
        if name == "ShearX":
            return image.transform(image.size, Image.AFFINE, (1, _signed(level * 0.3, self.rng), 0, 0, 1, 0),
                                   **geometric)
        if name == "ShearY":
            return image.transform(image.size, Image.AFFINE, (1, 0, 0, _signed(level * 0.3, self.rng), 1, 0),
                                   **geometric)
        if name == "TranslateXRel":
            return image.transform(image.size, Image.AFFINE, (1, 0, _signed(level * 0.45, self.rng) * w, 0, 1, 0),
                                   **geometric)
        if name == "TranslateYRel":
            return image.transform(image.size, Image.AFFINE, (1, 0, 0, 0, 1, _signed(level * 0.45, self.rng) * h),
                                   **geometric)
        raise ValueError(f"unknown op {name}")

    def __call__(self, image: np.ndarray) -> np.ndarray:
        from PIL import Image
        pil = Image.fromarray(np.asarray(image, dtype=np.uint8))
        for name in self.rng.choices(self.ops, k=self.num_ops):
            if self.prob < 1.0 and self.rng.random() > self.prob:
                continue
            pil = self.apply(pil, name, self.draw_magnitude())
        return np.asarray(pil)


class TimmConfig(str):
    """timm's RandAugment string."""
    description = "timm's RandAugment string, e.g. rand-m9-mstd0.5-inc1 (m magnitude, n ops, mstd, mmax, inc 0/1, p)"

    @staticmethod
    def fits(value) -> bool:
        return isinstance(value, str) and bool(CONFIG.match(value)) and "-w" not in value


def parse_config(text: str, where: str = "config") -> dict:
    """timm's ``rand-m9-mstd0.5-inc1`` as keyword arguments."""
    if not TimmConfig.fits(text):
        raise ValueError(f"{where}: got {text!r} (expected {TimmConfig.description})")
    out = {}
    for part in text.split("-")[1:]:
        key, value = re.match(r"([a-z]+)(.*)", part).groups()
        if key == "m":
            out["magnitude"] = float(value)
        elif key == "n":
            out["num_ops"] = int(value)
        elif key == "mstd":
            out["magnitude_std"] = float(value)
        elif key == "mmax":
            out["magnitude_max"] = float(value)
        elif key == "inc":
            out["increasing"] = value == "1"
        elif key == "p":
            out["prob"] = float(value)
    return out


@TRANSFORMS.register("RandAugmentTimm")
def rand_augment_timm(config: Optional[TimmConfig] = None, num_ops: int = 2, magnitude: float = 9,
                      magnitude_std: float = 0.0, increasing: bool = False, prob: float = 0.5,
                      magnitude_max: float = 10.0, fill_value: Sequence[int] = (124, 116, 104),
                      interpolation: Literal["random", "bilinear", "bicubic", "nearest"] = "random"):
    """timm's RandAugment (``config`` is timm's string; explicit keywords below it win if given too)."""
    import mindspore.dataset as ds
    args = dict(num_ops=num_ops, magnitude=magnitude, magnitude_std=magnitude_std, increasing=increasing, prob=prob,
                magnitude_max=magnitude_max)
    if config is not None:
        args.update(parse_config(config, "config"))
    if args["magnitude_std"] < 0 or not 0 <= args["prob"] <= 1 or args["num_ops"] < 0:
        raise ValueError(f"got {args} (expected magnitude_std >= 0, prob in [0, 1], num_ops >= 0)")
    return RandAugmentTimm(**args, fill_value=fill_value, interpolation=interpolation, seed=ds.config.get_seed())
