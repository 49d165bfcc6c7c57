"""MixUp or CutMix per batch (timm's Mixup mode='batch'), and nested transform lists checked before building."""
from __future__ import annotations

import json

import numpy as np
import pytest

import training_helpers
from mm_train.data.batch_transforms import MixUpCutMix
from mm_train.core.errors import ConfigError
from mm_train.jobs import prepare

B, C = 8, 10


def batch():
    images = np.broadcast_to(np.arange(B, dtype=np.float32)[:, None, None, None], (B, 3, 16, 16)).copy()
    labels = np.eye(C, dtype=np.float32)[np.arange(B) % C]
    return images, labels


def classify(images, k):
    """From the pixels alone: ("mixup", lam), ("cutmix", lam) or ("none", 1) for sample k."""
    values = np.unique(images[k])
    other = B - 1 - k
    if len(values) == 1:
        if values[0] == k:
            return "none", 1.0
        return "mixup", (values[0] - other) / (k - other)
    return "cutmix", float(np.mean(images[k] == k))


def smoothed(rows, s):
    return rows * (1 - s) + s / C


def test_labels_mix_with_the_pixels_and_cutmix_is_chosen_at_switch_prob():
    op = MixUpCutMix(mixup_alpha=0.2, cutmix_alpha=1.0, switch_prob=0.5, prob=1.0, label_smoothing=0.1, seed=3)
    modes, mixup_lams = [], []
    for _ in range(400):
        images, labels = op(*batch())
        mode, lam = classify(images, 0)
        want = lam * smoothed(batch()[1], 0.1) + (1 - lam) * smoothed(batch()[1][::-1], 0.1)
        np.testing.assert_allclose(labels, want, atol=1e-5)
        np.testing.assert_allclose(labels.sum(1), 1.0, atol=1e-5)
        for k in range(B):                           # one lam and one mode for the whole batch
            if mode == "mixup":
                np.testing.assert_allclose(images[k], lam * k + (1 - lam) * (B - 1 - k), atol=1e-4)
        modes.append(mode if mode != "none" else "cutmix")   # an empty CutMix box leaves the batch as it was
        if mode == "mixup":
            mixup_lams.append(lam)
    share = modes.count("cutmix") / len(modes)
    assert 0.42 < share < 0.58                          # 0.5 within about 3 standard deviations
    assert 0.4 < np.mean(mixup_lams) < 0.6              # Beta(0.2, 0.2) has mean 0.5 and sits near 0 and 1
    assert np.mean([min(l, 1 - l) < 0.1 for l in mixup_lams]) > 0.5


def test_prob_leaves_batches_unmixed_and_only_cutmix_with_mixup_alpha_zero():
    op = MixUpCutMix(mixup_alpha=0.0, cutmix_alpha=1.0, prob=0.3, label_smoothing=0.0, seed=1)
    modes = []
    for _ in range(400):
        images, labels = op(*batch())
        modes.append(op.last[0])
        if op.last[0] == "none":
            np.testing.assert_array_equal(images, batch()[0])
            np.testing.assert_array_equal(labels, batch()[1])
    assert set(modes) == {"none", "cutmix"} and 0.22 < modes.count("cutmix") / 400 < 0.38


def test_a_mixup_cutmix_recipe_trains_with_nested_random_choice(tmp_path):
    acc = training_helpers.train(
        tmp_path, "+dataset.one_hot=true", "loss.sparse=false",
        "+dataset.train.batch_transforms=[{type: MixUpCutMix, mixup_alpha: 0.2, cutmix_alpha: 1.0, "
        "label_smoothing: 0.1}]",
        "dataset.train.transforms=[{type: RandomApply, prob: 0.5, transforms: [{type: RandomChoice, transforms: "
        "[{type: RandomHorizontalFlip, prob: 1.0}, {type: RandomVerticalFlip, prob: 1.0}]}]}, "
        "{type: RandomOrder, transforms: [{type: RandomCrop, size: 8, padding: 1}]}, "
        "{type: Rescale, rescale: 0.00392156862745098, shift: 0.0}, {type: HWC2CHW}]",
        "dataset.eval.transforms=[{type: Rescale, rescale: 0.00392156862745098, shift: 0.0}, {type: HWC2CHW}]")
    assert 0.0 <= acc <= 1.0
    assert json.loads((tmp_path / "metrics.json").read_text())["final"]["acc"] == acc


def test_nested_transform_and_enum_errors_are_found_by_validation():
    config = training_helpers.compose(
        "dataset.train.transforms=[{type: RandomChoice, transforms: [{type: RandomFlip}, "
        "{type: RandomApply, transforms: [{type: RandomResizedCrop, size: 8, interpolation: bilinar}]}]}]",
        "+dataset.train.batch_transforms=[{type: MixUpCutMix, switch_prob: 1.5}]")
    with pytest.raises(ConfigError) as err:
        prepare(config)
    text = str(err.value)
    assert "dataset.train.transforms[0].transforms[0].type: unknown transform 'RandomFlip'" in text
    assert ("dataset.train.transforms[0].transforms[1].transforms[0].interpolation: unknown value 'bilinar'"
            in text) and "Did you mean 'bilinear'" in text
    assert "dataset.train.batch_transforms[0].switch_prob: got 1.5 (expected a number from 0 to 1)" in text


def test_batch_transforms_without_one_hot_say_so(tmp_path):
    with pytest.raises(ConfigError, match="batch_transforms: MixUpCutMix / MixUpBatch / CutMixBatch need one-hot"):
        training_helpers.train(tmp_path, "+dataset.train.batch_transforms=[{type: MixUpCutMix}]")
