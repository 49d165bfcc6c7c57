"""Augmentations as timm and torchvision publish them: RandAugment's options do what they say."""
from __future__ import annotations

import numpy as np
import pytest

import training_helpers
from mm_train.data.augment import RandAugmentTimm, parse_config
from mm_train.data.transforms import build_transform, transform_errors
from mm_train.core.errors import ConfigError


def image(seed=0):
    return np.random.default_rng(seed).integers(0, 256, (32, 32, 3), dtype=np.uint8)


def test_timm_config_string_gives_the_options():
    assert parse_config("rand-m9-mstd0.5-inc1") == {"magnitude": 9.0, "magnitude_std": 0.5, "increasing": True}
    assert parse_config("rand-m6-n3-mstd1.0-p0.7") == {"magnitude": 6.0, "num_ops": 3, "magnitude_std": 1.0,
                                                       "prob": 0.7}
    op = build_transform({"type": "RandAugmentTimm", "config": "rand-m7-mstd0.5-inc1"}, "t")
    assert op.magnitude == 7 and op.magnitude_std == 0.5 and "SolarizeIncreasing" in op.ops
    assert [e.where for e in transform_errors({"type": "RandAugmentTimm", "config": "rand-x9"}, "t")] == ["t.config"]


def test_magnitude_std_spreads_the_magnitude_and_inf_is_uniform():
    fixed = RandAugmentTimm(magnitude=9, magnitude_std=0.0, seed=0)
    assert {fixed.draw_magnitude() for _ in range(100)} == {9.0}
    spread = RandAugmentTimm(magnitude=5, magnitude_std=0.5, seed=0)
    draws = np.array([spread.draw_magnitude() for _ in range(4000)])
    assert abs(draws.mean() - 5) < 0.05 and abs(draws.std() - 0.5) < 0.05
    clipped = RandAugmentTimm(magnitude=9.8, magnitude_std=1.0, seed=0)
    assert max(clipped.draw_magnitude() for _ in range(1000)) == 10.0          # magnitude_max
    uniform = np.array([RandAugmentTimm(magnitude=8, magnitude_std=float("inf"), seed=s).draw_magnitude()
                        for s in range(2000)])
    assert uniform.min() >= 0 and uniform.max() <= 8 and abs(uniform.mean() - 4) < 0.25


def test_prob_is_per_op():
    img = image()
    never = RandAugmentTimm(num_ops=2, prob=0.0, seed=0)
    assert all(np.array_equal(never(img), img) for _ in range(20))
    always = RandAugmentTimm(num_ops=2, magnitude=9, prob=1.0, seed=0)
    assert sum(not np.array_equal(always(img), img) for _ in range(50)) >= 45
    half = RandAugmentTimm(num_ops=1, magnitude=9, prob=0.5, seed=1)
    half.ops = ["Invert"]                                                      # always changes the image
    changed = np.mean([not np.array_equal(half(img), img) for _ in range(1000)])
    assert 0.45 < changed < 0.55


def test_increasing_ops_are_identity_at_magnitude_zero_and_the_originals_are_not():
    img = image()
    op = RandAugmentTimm(seed=0)
    from PIL import Image
    pil = Image.fromarray(img)
    for name in ("Brightness", "Color", "Contrast", "Sharpness"):
        assert np.array_equal(np.asarray(op.apply(pil, f"{name}Increasing", 0.0)), img), name
        assert not np.array_equal(np.asarray(op.apply(pil, name, 0.0)), img), name
    assert np.array_equal(np.asarray(op.apply(pil, "SolarizeIncreasing", 0.0)), img)
    assert np.array_equal(np.asarray(op.apply(pil, "Solarize", 0.0)), 255 - img)     # threshold 0: all inverted
    assert np.all(np.asarray(op.apply(pil, "Posterize", 0.0)) == 0)                  # 0 bits kept
    assert np.array_equal(np.asarray(op.apply(pil, "PosterizeIncreasing", 0.0)), img & 0xF0)   # 4 bits kept
    assert np.all(np.asarray(op.apply(pil, "PosterizeIncreasing", 10.0)) == 0)


def test_geometric_ops_fill_with_the_fill_value():
    op = RandAugmentTimm(fill_value=[124, 116, 104], interpolation="bilinear", seed=0)
    from PIL import Image
    out = np.asarray(op.apply(Image.fromarray(image()), "Rotate", 10.0))   # 30 degrees: the corners are empty
    assert out[0, 0].tolist() == [124, 116, 104] and out[-1, -1].tolist() == [124, 116, 104]


def test_published_ops_build_with_list_and_enum_arguments():
    import mindspore.dataset.transforms as T
    crop = build_transform({"type": "RandomResizedCrop", "size": 8, "interpolation": "random"}, "t")
    assert isinstance(crop, T.RandomChoice)
    for spec in ({"type": "TrivialAugmentWide", "interpolation": "bilinear", "fill_value": [124, 116, 104]},
                 {"type": "AutoAugment", "policy": "imagenet", "interpolation": "bilinear"},
                 {"type": "RandAugment", "num_ops": 2, "magnitude": 9, "fill_value": [124, 116, 104]},
                 {"type": "RandomErasing", "prob": 0.25, "value": "random"}):
        build_transform(spec, "t")
    errors = transform_errors({"type": "AutoAugment", "policy": "imagnet"}, "t")
    assert "t.policy: unknown value 'imagnet'" in str(errors[0]) and "imagenet" in str(errors[0])


def test_a_run_with_published_augmentations(tmp_path):
    acc = training_helpers.train(tmp_path, "dataset.train.transforms=["
                                 "{type: RandomResizedCrop, size: 8, scale: [0.5, 1.0], interpolation: random},"
                                 "{type: RandAugmentTimm, config: rand-m9-mstd0.5-inc1},"
                                 "{type: TrivialAugmentWide, fill_value: [124, 116, 104]},"
                                 "{type: Rescale, rescale: 0.00392156862745098, shift: 0.0}, {type: HWC2CHW},"
                                 "{type: RandomErasing, prob: 0.25, value: random}]",
                                 "dataset.eval.transforms=[{type: Rescale, rescale: 0.00392156862745098, shift: 0.0},"
                                 "{type: HWC2CHW}]")
    assert 0.0 <= acc <= 1.0
