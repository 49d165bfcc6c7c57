"""Batch transforms with the published semantics, applied to ``(image, label)`` of a whole batch.

    dataset:
      one_hot: true
      train:
        batch_transforms:
          - {type: MixUpCutMix, mixup_alpha: 0.2, cutmix_alpha: 1.0, switch_prob: 0.5, prob: 1.0,
             label_smoothing: 0.1}

``MixUpCutMix`` is timm's ``Mixup`` in ``mode='batch'`` (torchvision's references do the same with
``RandomChoice([MixUp, CutMix])``): for each batch, with probability ``prob``, it mixes the batch
with the batch reversed, choosing CutMix with probability ``switch_prob`` (when both alphas are
> 0), else MixUp; ``lam`` ~ Beta(alpha, alpha). CutMix pastes a box of area ``1 - lam`` and
corrects ``lam`` to the box's real area (timm's ``correct_lam``). Labels become
``lam * y + (1 - lam) * y_reversed`` of the smoothed one-hot rows (``1 - s + s/C`` and ``s/C``).
"""
from __future__ import annotations

import numpy as np

from mm_train.registry import TRANSFORMS


class Probability(float):
    """A number from 0 to 1."""
    description = "a number from 0 to 1"

    @staticmethod
    def fits(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1


class NonNegative(float):
    """A number >= 0 (an alpha of 0 turns its mode off)."""
    description = "a number >= 0"

    @staticmethod
    def fits(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1e30


def _channels_first(images: np.ndarray) -> bool:
    return images.ndim == 4 and images.shape[1] <= 4 < images.shape[-1]


def cutmix_box(height: int, width: int, lam: float, rng: np.random.Generator):
    """timm's ``rand_bbox``: a box of side ``sqrt(1 - lam)`` of the image around a uniform centre, clipped."""
    ratio = np.sqrt(1.0 - lam)
    cut_h, cut_w = int(height * ratio), int(width * ratio)
    cy, cx = int(rng.integers(0, height)), int(rng.integers(0, width))
    y0, y1 = np.clip(cy - cut_h // 2, 0, height), np.clip(cy + cut_h // 2, 0, height)
    x0, x1 = np.clip(cx - cut_w // 2, 0, width), np.clip(cx + cut_w // 2, 0, width)
    return int(y0), int(y1), int(x0), int(x1)


class MixUpCutMix:
    """MixUp or CutMix chosen per batch, on one-hot labels (``dataset.one_hot: true``)."""

    def __init__(self, mixup_alpha: float = 1.0, cutmix_alpha: float = 0.0, switch_prob: float = 0.5,
                 prob: float = 1.0, label_smoothing: float = 0.1, seed: int | None = None):
        if mixup_alpha <= 0 and cutmix_alpha <= 0:
            raise ValueError("mixup_alpha and cutmix_alpha are both 0: nothing to mix "
                             "(expected mixup_alpha > 0 or cutmix_alpha > 0)")
        self.mixup_alpha, self.cutmix_alpha = float(mixup_alpha), float(cutmix_alpha)
        self.switch_prob, self.prob, self.smoothing = float(switch_prob), float(prob), float(label_smoothing)
        if seed is None:
            import mindspore.dataset as ds
            seed = ds.config.get_seed()
        self.rng = np.random.default_rng(seed)
        self.last = ("none", 1.0)     # the last batch's (mode, lam), for tests and debugging

    def choose(self) -> tuple[str, float]:
        """timm's ``_params_per_batch``: ("mixup" | "cutmix" | "none", lam)."""
        if self.rng.random() >= self.prob:
            return "none", 1.0
        if self.mixup_alpha > 0 and self.cutmix_alpha > 0:
            cutmix = self.rng.random() < self.switch_prob
        else:
            cutmix = self.cutmix_alpha > 0
        alpha = self.cutmix_alpha if cutmix else self.mixup_alpha
        return ("cutmix" if cutmix else "mixup"), float(self.rng.beta(alpha, alpha))

    def __call__(self, images: np.ndarray, labels: np.ndarray):
        if labels.ndim != 2:
            raise ValueError("MixUpCutMix needs one-hot labels (dataset.one_hot: true)")
        classes = labels.shape[1]
        labels = labels.astype(np.float32) * (1.0 - self.smoothing) + self.smoothing / classes
        mode, lam = self.choose()
        images = np.array(images, copy=True)
        if mode == "cutmix":
            first = _channels_first(images)
            height, width = images.shape[2:4] if first else images.shape[1:3]
            y0, y1, x0, x1 = cutmix_box(height, width, lam, self.rng)
            if first:
                images[:, :, y0:y1, x0:x1] = images[::-1, :, y0:y1, x0:x1]
            else:
                images[:, y0:y1, x0:x1] = images[::-1, y0:y1, x0:x1]
            lam = 1.0 - (y1 - y0) * (x1 - x0) / float(height * width)
        elif mode == "mixup":
            images = (images * lam + images[::-1] * (1.0 - lam)).astype(images.dtype)
        self.last = (mode, lam)
        labels = labels * lam + labels[::-1] * (1.0 - lam)
        return images, labels.astype(np.float32)


@TRANSFORMS.register("MixUpCutMix")
def mixup_cutmix(mixup_alpha: NonNegative = 1.0, cutmix_alpha: NonNegative = 0.0, switch_prob: Probability = 0.5,
                 prob: Probability = 1.0, label_smoothing: Probability = 0.1) -> MixUpCutMix:
    """timm's ``Mixup(mode='batch')`` defaults; torchvision's references: mixup_alpha 0.2, cutmix_alpha 1.0."""
    return MixUpCutMix(mixup_alpha, cutmix_alpha, switch_prob, prob, label_smoothing)
