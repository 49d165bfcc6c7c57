"""RandomCropScaledDecodeResize: MindSpore's crop boxes, JPEGs decoded at a reduced DCT scale, a full decode's pixels."""
from __future__ import annotations

import io
import pickle
import random

import mindspore.dataset as ds
import mindspore.dataset.vision as vision
import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from mm_train.data import build_dataset
from mm_train.data.scaled_decode import RandomCropScaledDecodeResize
from mm_train.data.synthetic import write_image_folder, write_mindrecord
from mm_train.runtime.debug import apply_debug


def _photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    """Smooth colour fields with texture and noise, like bench/jpeg_pipeline.py's ImageNet-size JPEGs."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    fx, fy = rng.uniform(0.01, 0.05, 2)
    base = np.stack([127 + 100 * np.sin(xx * fx), 127 + 100 * np.cos(yy * fy),
                     127 + 100 * np.sin((xx + yy) * (fx + fy) / 2)], -1)
    return np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)


def _encoded(image: np.ndarray, fmt: str = "JPEG", **kwargs) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, fmt, **kwargs)
    return np.frombuffer(buffer.getvalue(), np.uint8)     # what an image folder's "image" column holds


def _full_decode_crop_resize(data: np.ndarray, box, size) -> np.ndarray:
    x, y, w, h = box
    image = Image.open(io.BytesIO(data)).convert("RGB")
    return np.asarray(image.resize(size[::-1], Image.Resampling.BILINEAR, box=(x, y, x + w, y + h)))


@pytest.mark.parametrize("width, height, box", [
    (60, 240, (0, 80, 60, 80)),       # taller than ratio[0] = 3/4: full width, height width / (3/4), centred
    (240, 60, (80, 0, 80, 60)),       # wider than ratio[1] = 4/3: full height, width height * 4/3, centred
])
def test_when_no_box_fits_both_ops_take_the_same_centre_box(width, height, box):
    """scale (0.9, 1) never fits these shapes, so after 10 draws both fall back: MindSpore's C++ op and ours."""
    x, y, w, h = box
    assert RandomCropScaledDecodeResize((h, w), scale=(0.9, 1.0)).crop_box(width, height) == box
    image = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    theirs = vision.RandomResizedCrop((h, w), scale=(0.9, 1.0))(image)    # output size = box size: no resampling
    np.testing.assert_array_equal(theirs, image[y:y + h, x:x + w])


def test_crop_boxes_stay_inside_the_image_within_scale_and_ratio():
    op = RandomCropScaledDecodeResize(32, scale=(0.2, 0.6), ratio=(0.5, 2.0))
    rng = random.Random(0)
    boxes = np.array([op.crop_box(400, 300, rng) for _ in range(2000)])
    x, y, w, h = boxes.T
    assert (x >= 0).all() and (y >= 0).all() and (x + w <= 400).all() and (y + h <= 300).all()
    area, aspect = w * h / (400 * 300), w / h
    assert 0.19 < area.min() < 0.22 and 0.57 < area.max() < 0.61          # rounding moves the bounds by < 1 %
    assert 0.49 < aspect.min() < 0.55 and 1.85 < aspect.max() < 2.02
    assert x.max() > 240 and y.max() > 150 and x.min() == 0 and y.min() == 0   # offsets uniform over the slack


@pytest.mark.parametrize("crop, expected", [((447, 500), 1), ((448, 448), 2), ((900, 460), 2), ((896, 896), 4),
                                            ((1792, 1800), 8), ((5000, 5000), 8), ((100, 2000), 1)])
def test_the_reduction_is_the_largest_that_keeps_the_crop_at_least_size(crop, expected):
    assert RandomCropScaledDecodeResize(224).reduction(*crop) == expected


def test_jpegs_are_decoded_at_the_reduced_scale(monkeypatch):
    scales = []
    draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = draft(self, mode, size)
        scales.append(self.decoderconfig[0])
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    op = RandomCropScaledDecodeResize(32)
    data = _encoded(_photo(400, 300), quality=90)
    for box, scale in [((10, 10, 370, 280), 8), ((20, 30, 200, 150), 4), ((5, 5, 100, 70), 2)]:
        assert op.decode(data, box).shape == (32, 32, 3)
        assert scales[-1] == scale
    op.decode(data, (0, 0, 40, 40))     # a box of about the output size: no draft at all
    assert len(scales) == 3


@pytest.mark.parametrize("seed", [0, 1])
def test_pixels_match_a_full_decode_crop_and_resize(seed):
    """libjpeg's scaled IDCT keeps each 8x8 block's lowest frequencies: an area-like average of s x s pixels, so
    the output differs from a full decode + crop + the same resize by under a grey level on average, a few at most.
    For scale: MindSpore's own Decode + crop + Resize (OpenCV, no antialiasing) is 3-4 levels from that reference
    on these noisy images."""
    op = RandomCropScaledDecodeResize((32, 40))
    data = _encoded(_photo(400, 300, seed), quality=90)
    for box in [(10, 10, 370, 280), (20, 30, 200, 150), (5, 5, 100, 70), (0, 0, 400, 300), (50, 60, 40, 32)]:
        ours = op.decode(data, box).astype(np.int16)
        reference = _full_decode_crop_resize(data, box, (32, 40)).astype(np.int16)
        assert ours.shape == (32, 40, 3) and ours.dtype == np.int16
        difference = np.abs(ours - reference)
        assert difference.mean() < 1.5 and difference.max() <= 8, (box, difference.mean(), difference.max())


@pytest.mark.parametrize("seed", [0, 1])
def test_as_fused_a_crop_too_small_to_reduce_gives_exactly_decode_crop_resize(seed):
    """fuse_decode: scaled runs the op with resize=False, then MindSpore's Resize. Below twice the output size (98 %
    of ImageNet-size crops at 224) nothing is reduced: the pixels are exactly those of Decode + crop + Resize.
    Reduced crops differ from that pair by ~5 grey levels on average on these noisy images, because the pair's
    bilinear downscale (OpenCV: no antialiasing) aliases the noise where the DCT reduction averages it; both are
    equally far (within a level) from an antialiased resize of the full decode."""
    op, resize = RandomCropScaledDecodeResize((32, 40), resize=False), vision.Resize((32, 40))
    data = _encoded(_photo(400, 300, seed), quality=90)
    full = vision.Decode()(data)
    for x, y, w, h in [(50, 60, 40, 32), (3, 7, 61, 50), (100, 20, 79, 63), (10, 10, 370, 280), (20, 30, 200, 150)]:
        ours = resize(op.decode(data, (x, y, w, h))).astype(np.int16)
        pair = resize(full[y:y + h, x:x + w]).astype(np.int16)
        if op.reduction(w, h) == 1:
            np.testing.assert_array_equal(ours, pair)
            continue
        antialiased = _full_decode_crop_resize(data, (x, y, w, h), (32, 40)).astype(np.int16)
        assert np.abs(ours - pair).mean() < 8
        assert np.abs(ours - antialiased).mean() <= np.abs(pair - antialiased).mean() + 1.0


def test_png_and_grayscale_inputs_give_the_full_decode_in_rgb():
    op = RandomCropScaledDecodeResize(24)
    photo = _photo(120, 90)
    box = (10, 5, 100, 80)
    png = _encoded(photo, "PNG")
    out = op(png)
    assert out.shape == (24, 24, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(op.decode(png, box), _full_decode_crop_resize(png, box, (24, 24)))
    rgba = _encoded(np.dstack([photo, np.full(photo.shape[:2], 200, np.uint8)]), "PNG")
    np.testing.assert_array_equal(op.decode(rgba, box), op.decode(png, box))    # alpha dropped, as Decode does
    gray = _encoded(photo[..., 0], quality=95)
    out = op.decode(gray, (0, 0, 120, 90))
    assert out.shape == (24, 24, 3) and (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()


def test_not_an_image_is_a_tagged_value_error():
    with pytest.raises(ValueError, match=r"\[mm_train op RandomCropScaledDecodeResize\] cannot decode the image"):
        RandomCropScaledDecodeResize(24)(np.frombuffer(b"<html>not an image</html>", np.uint8))


def test_the_op_survives_pickling_for_worker_processes():
    op = RandomCropScaledDecodeResize(24, interpolation=[vision.Inter.BILINEAR, vision.Inter.BICUBIC])
    op(_encoded(_photo(60, 50)))
    copy = pickle.loads(pickle.dumps(op))
    assert copy(_encoded(_photo(60, 50))).shape == (24, 24, 3) and copy.interpolation == op.interpolation


def _train_images(root, seed: int, fuse="scaled", workers=1) -> np.ndarray:
    old = ds.config.get_seed()
    ds.config.set_seed(seed)     # read when the pipeline starts: MindSpore's ops seed then
    try:
        data = build_dataset({"type": "image_folder", "path": str(root), "verify": False, "fuse_decode": fuse,
                              "train": {"batch_size": 4, "shuffle": False, "num_parallel_workers": workers,
                                        "transforms": [{"type": "RandomResizedCrop", "size": 16},
                                                       {"type": "RandomHorizontalFlip"},
                                                       {"type": "Normalize", "mean": [127.0] * 3, "std": [60.0] * 3},
                                                       {"type": "HWC2CHW"}]}}, "train")
        assert data.pipeline_record["fused_decode"] == fuse
        return np.concatenate([image for image, _ in data.create_tuple_iterator(output_numpy=True, num_epochs=1)])
    finally:
        ds.config.set_seed(old)


def test_a_seeded_one_worker_pipeline_repeats_its_crops_and_the_c_ops_run_after_it(tmp_path):
    write_image_folder(tmp_path, 8, size=40)
    first, again, other = (_train_images(tmp_path, s) for s in (7, 7, 8))
    assert first.shape == (8, 3, 16, 16) and first.dtype == np.float32       # flip, Normalize, HWC2CHW applied
    assert -2.2 < first.min() < first.max() < 2.2
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_two_workers_give_the_same_shapes(tmp_path):
    write_image_folder(tmp_path, 8, size=40)
    assert _train_images(tmp_path, 7, workers=2).shape == _train_images(tmp_path, 7, "crop", workers=2).shape


def test_a_mindrecord_with_decode_true_is_fused_too(tmp_path):
    files = write_mindrecord(tmp_path / "d.mindrecord", 8, size=40)
    data = build_dataset({"type": "mindrecord", "path": str(files[0]), "fuse_decode": "scaled",
                          "train": {"batch_size": 4, "transforms": [{"type": "RandomResizedCrop", "size": 24}]}},
                         "train")
    assert data.pipeline_record["fused_decode"] == "scaled"
    shapes = [image.shape for image, _ in data.create_tuple_iterator(output_numpy=True, num_epochs=1)]
    assert shapes == [(4, 24, 24, 3)] * 2


@pytest.mark.parametrize("mode", ["small", "overfit"])
def test_debug_modes_without_augmentation_keep_decode_and_a_deterministic_resize(tmp_path, mode):
    write_image_folder(tmp_path, 8, size=40)
    config = {"debug": {"mode": mode, "augmentation": False, "batch_size": 4},
              "train": {"epochs": 1},
              "dataset": {"type": "image_folder", "path": str(tmp_path), "verify": False,
                          "train": {"batch_size": 4, "shuffle": False, "transforms": [{"type": "RandomResizedCrop", "size": 16},
                                                                    {"type": "RandomHorizontalFlip"}]},
                          "eval": {"usage": "train", "transforms": [{"type": "Resize", "size": [16, 16]}]}}}
    dataset = apply_debug(config)["dataset"]
    assert dataset["train"]["transforms"] == [{"type": "Resize", "size": [16, 16]}]
    epochs = []
    for _ in range(2):
        data = build_dataset(dataset, "train")
        assert data.pipeline_record["fused_decode"] is False
        epochs.append(np.concatenate([i for i, _ in data.create_tuple_iterator(output_numpy=True, num_epochs=1)]))
    assert epochs[0].shape[1:] == (16, 16, 3)
    np.testing.assert_array_equal(epochs[0], epochs[1])
