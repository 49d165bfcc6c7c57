"""Decode + RandomResizedCrop becomes RandomCropDecodeResize (or, with fuse_decode: scaled, the scaled decode + Resize):
when, with which arguments, same crops."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import mindspore.dataset as ds
import mindspore.dataset.vision as vision
import numpy as np
import pytest
from PIL import Image

from mm_train.data import build_dataset
from mm_train.data.decode_fusion import fuse_decode
from mm_train.data.scaled_decode import RandomCropScaledDecodeResize
from mm_train.data.synthetic import write_image_folder
from mm_train.core.errors import ConfigError

CROP = {"type": "RandomResizedCrop", "size": 24, "scale": [0.2, 0.9], "ratio": [0.5, 2.0],
        "interpolation": "bicubic", "max_attempts": 7}


def test_reader_decode_and_random_resized_crop_become_one_op_with_the_same_arguments():
    ops, rest, fused = fuse_decode([vision.Decode()], [CROP, {"type": "HWC2CHW"}], "dataset.train.transforms")
    assert fused == "crop" and rest == [{"type": "HWC2CHW"}] and len(ops) == 1     # the default
    op = ops[0]
    assert isinstance(op, vision.RandomCropDecodeResize)
    assert (op.size, tuple(op.scale), tuple(op.ratio), op.interpolation, op.max_attempts) == \
        ((24, 24), (0.2, 0.9), (0.5, 2.0), vision.Inter.BICUBIC, 7)


def test_the_scaled_fusion_decodes_and_crops_then_resizes_with_the_same_arguments():
    ops, rest, fused = fuse_decode([vision.Decode()], [CROP, {"type": "HWC2CHW"}], "dataset.train.transforms",
                                   "scaled")
    assert fused == "scaled" and rest == [{"type": "HWC2CHW"}] and len(ops) == 2
    decode, resize = ops
    assert isinstance(decode, RandomCropScaledDecodeResize) and not decode.resize
    assert (decode.size, decode.scale, decode.ratio, decode.max_attempts) == ((24, 24), (0.2, 0.9), (0.5, 2.0), 7)
    assert isinstance(resize, vision.Resize) and (resize.c_size, resize.interpolation) == ((24, 24), vision.Inter.BICUBIC)


def test_random_interpolation_is_drawn_per_image_by_the_scaled_fusion_too():
    ops, _, _ = fuse_decode([vision.Decode()], [{"type": "RandomResizedCrop", "size": 24, "interpolation": "random"}],
                            "w", "scaled")
    assert isinstance(ops[1], ds.transforms.RandomChoice)
    assert [op.interpolation for op in ops[1].transforms] == [vision.Inter.BILINEAR, vision.Inter.BICUBIC]


@pytest.mark.parametrize("mode, kind", [("scaled", RandomCropScaledDecodeResize), ("crop", vision.RandomCropDecodeResize)])
def test_decode_written_as_a_transform_is_fused_too(mode, kind):
    ops, rest, fused = fuse_decode([], [{"type": "Decode"}, CROP], "w", mode)
    assert fused == mode and rest == [] and isinstance(ops[0], kind)


@pytest.mark.parametrize("reader_ops, specs", [
    ([vision.Decode()], [{"type": "RandomHorizontalFlip"}, CROP]),        # crop not right after Decode
    ([vision.Decode()], [{"type": "Resize", "size": 24}]),                 # no random crop
    ([vision.Decode(to_pil=True)], [CROP]),                                # PIL decode: not the C++ op
    ([], [CROP]),                                                          # reader gives decoded arrays
    ([], [{"type": "Decode"}, {"type": "RandomHorizontalFlip"}, CROP]),
])
@pytest.mark.parametrize("mode", ["scaled", "crop"])
def test_other_transform_lists_are_left_as_written(reader_ops, specs, mode):
    ops, rest, fused = fuse_decode(reader_ops, specs, "w", mode)
    assert fused is False and ops == reader_ops and rest == specs


@pytest.mark.parametrize("mode", ["scaled", "crop"])
def test_a_bad_crop_argument_names_the_recipe_transform(mode):
    with pytest.raises(ConfigError, match=r"dataset.train.transforms\[0\]"):
        fuse_decode([vision.Decode()], [{"type": "RandomResizedCrop", "size": 24, "scale": [0.9, 0.1]}],
                    "dataset.train.transforms", mode)


def _dataset(root, fuse=None, split="train", transforms=(CROP,), batch=4):
    spec = {"type": "image_folder", "path": str(root), "verify": False,
            split: {"batch_size": batch, "transforms": list(transforms), "shuffle": False}}
    if fuse is not None:
        spec["fuse_decode"] = fuse
    if split == "eval":
        spec["eval"]["usage"] = "train"
    return build_dataset(spec, split)


def test_train_split_is_fused_unless_fuse_decode_is_false_and_outputs_match(tmp_path):
    write_image_folder(tmp_path, 8, size=40)
    shapes = {}
    recorded = {None: "crop", True: "crop", "crop": "crop", "scaled": "scaled", False: False}
    for fuse, record in recorded.items():
        data = _dataset(tmp_path, fuse)
        assert data.pipeline_record["fused_decode"] == record
        image, label = next(data.create_tuple_iterator(output_numpy=True))
        shapes[fuse] = (image.shape, image.dtype, label.dtype)
    assert all(shape == ((4, 24, 24, 3), np.uint8, np.int32) for shape in shapes.values()), shapes


def test_eval_split_keeps_decode_and_crop(tmp_path):
    write_image_folder(tmp_path, 4, size=40)
    assert _dataset(tmp_path, split="eval").pipeline_record["fused_decode"] is False


def test_fuse_decode_must_be_scaled_crop_or_false(tmp_path):
    write_image_folder(tmp_path, 4, size=40)
    with pytest.raises(ConfigError, match=r"dataset.fuse_decode: got 'scale' \(expected crop .*scaled or false\)"
                                          r"\. Did you mean 'scaled'"):
        _dataset(tmp_path, fuse="scale")
    with pytest.raises(ConfigError, match="dataset.fuse_decode: got 1"):
        _dataset(tmp_path, fuse=1)


def _coordinate_jpegs(root: Path, n: int) -> None:
    """JPEGs whose red channel is the column and green channel the row: crops can be read back from pixels."""
    yy, xx = np.mgrid[0:180, 0:240]
    image = np.stack([xx, yy * 1.4, np.full_like(xx, 128)], -1).clip(0, 255).astype(np.uint8)
    folder = root / "train" / "a"
    folder.mkdir(parents=True)
    Image.fromarray(image).save(folder / "0.jpg", quality=98)
    data = (folder / "0.jpg").read_bytes()
    for i in range(1, n):
        (folder / f"{i}.jpg").write_bytes(data)


def _crop_boxes(data) -> tuple[np.ndarray, np.ndarray]:
    """Area fraction and log aspect ratio of each output's crop box, from its coordinate pixels."""
    areas, aspects = [], []
    for image, _ in data.create_tuple_iterator(output_numpy=True, num_epochs=1):
        for x in image.astype(np.float64):
            width = x[..., 0].max() - x[..., 0].min() + 1
            height = (x[..., 1].max() - x[..., 1].min()) / 1.4 + 1
            areas.append(width * height / (240 * 180))
            aspects.append(np.log(width / height))
    return np.array(areas), np.array(aspects)


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    grid = np.sort(np.concatenate([a, b]))
    return float(np.abs(np.searchsorted(np.sort(a), grid, "right") / len(a)
                        - np.searchsorted(np.sort(b), grid, "right") / len(b)).max())


@pytest.mark.parametrize("mode", ["scaled", "crop"])
def test_fused_crops_follow_the_same_distribution_as_decode_then_crop(tmp_path, mode):
    _coordinate_jpegs(tmp_path, 300)
    seed = ds.config.get_seed()
    ds.config.set_seed(3)
    try:
        crop = {"type": "RandomResizedCrop", "size": 48}
        fused = _crop_boxes(_dataset(tmp_path, mode, transforms=[crop], batch=50))
        pair = _crop_boxes(_dataset(tmp_path, False, transforms=[crop], batch=50))
    finally:
        ds.config.set_seed(seed)
    for ours, theirs in zip(fused, pair):
        assert len(ours) == len(theirs) == 300
        # two-sample Kolmogorov-Smirnov: 0.16 is the 1 % critical value for 300 + 300 samples
        assert _ks(ours, theirs) < 0.16, (np.percentile(ours, [10, 50, 90]), np.percentile(theirs, [10, 50, 90]))
    areas, aspects = fused
    assert areas.min() < 0.2 and areas.max() > 0.9            # scale (0.08, 1): the whole range is drawn
    assert aspects.min() < np.log(0.8) and aspects.max() > np.log(1.25)   # ratio (3/4, 4/3)


def test_run_info_records_the_fusion(tmp_path):
    from mm_train.config.run_record import RunRecord
    from mm_train.tasks.training import recorded_settings
    write_image_folder(tmp_path / "data", 8, size=40)
    train = _dataset(tmp_path / "data")
    parts = SimpleNamespace(train_data=train, eval_data=None, steps_per_epoch=2)
    config = {"device": {"compile_cache": False}, "dataset": {"type": "image_folder"}}
    record = RunRecord(tmp_path, "r")
    record.begin(config)
    with recorded_settings(config, parts, "r", record):
        pass
    info = json.loads((tmp_path / "run_info.json").read_text())
    assert info["data_pipeline"] == {"train": {"fused_decode": "crop", "workers": train.pipeline_record["workers"]},
                                     "eval": None}


@pytest.mark.parametrize("mode", ["scaled", "crop"])
def test_a_truncated_jpeg_in_the_fused_op_is_reported_naming_the_file(tmp_path, mode):
    from mm_train.data.failures import reported_data_errors
    write_image_folder(tmp_path, 4, size=40)
    folder = tmp_path / "train" / "class_0"
    bad = folder / "broken.jpg"
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(bad, quality=90)
    bad.write_bytes(bad.read_bytes()[:40])
    data = _dataset(tmp_path, mode, batch=1)
    assert data.pipeline_record["fused_decode"] == mode
    with pytest.raises(ConfigError, match=r"broken\.jpg: the image cannot be decoded"):
        with reported_data_errors():
            for _ in data.create_tuple_iterator(output_numpy=True, num_epochs=1):
                pass
