"""What the pipeline hands the network is checked where the pipeline sees it: a label outside
[0, num_classes), NaN pixels, an image of another size, an empty transform list are each one message
naming the file and record (or the split's key), before any graph is compiled."""
from __future__ import annotations

import numpy as np
import pytest

from mm_train.assembly.parts import build_parts
from mm_train.data.synthetic import tiny_images, write_image_folder, write_mindrecord, write_tfrecord
from mm_train.core.errors import ConfigError
from mm_train.jobs import open_job

SPLIT = {"batch_size": 4, "shuffle": False, "num_parallel_workers": 1,
         "transforms": [{"type": "Rescale", "rescale": 0.00392156862745098, "shift": 0.0}, {"type": "HWC2CHW"}]}


def _config(dataset: dict, input_shape=(3, 8, 8)) -> dict:
    config = open_job("quickstart", ["debug=fast"]).config
    config["dataset"] = {**dataset, "train": {**SPLIT, **dataset.get("train", {})},
                         "eval": {**SPLIT, **dataset.get("eval", {})}}
    config["network"]["input_shape"] = list(input_shape)
    return config


def _refusal(config) -> str:
    with pytest.raises(ConfigError) as err:
        build_parts(config, "train")
    return str(err.value)


def test_a_tfrecord_label_outside_num_classes_names_the_file_and_record(tmp_path):
    files = write_tfrecord(tmp_path / "d.tfrecord", 12, classes=3)   # labels 0 1 2 0 1 2 ...
    message = _refusal(_config({"type": "tfrecord", "path": str(files[0]), "num_classes": 2, "decode": True,
                                "features": {"image": {"type": "bytes"}, "label": {"type": "int64"}}}))
    assert message.startswith("dataset.train: ") and f"{files[0]} record 2: label 2 is outside [0, 2)" in message


def test_a_negative_or_too_large_label_in_mindrecord_with_one_hot_names_the_record(tmp_path):
    files = write_mindrecord(tmp_path / "d.mindrecord", 12, classes=3)
    message = _refusal(_config({"type": "mindrecord", "path": str(files[0]), "num_classes": 2, "one_hot": True}))
    assert f"{files[0]} record 2: label 2 is outside [0, 2)" in message


def test_nan_pixels_in_a_float_tfrecord_name_the_file_and_record(tmp_path):
    from mm_train.data.tfrecord_io import TFRecordWriter, encode_example
    images, labels = tiny_images(8, size=8)
    pixels = images.astype(np.float32) / 255
    clean = pixels.copy()
    pixels[5, 2, 2, 1] = np.nan
    for name, values in (("f.tfrecord", pixels), ("clean.tfrecord", clean)):   # a clean eval split
        with TFRecordWriter(tmp_path / name) as writer:
            for x, y in zip(values, labels):
                writer.write(encode_example({"pixels": x.ravel().tolist(), "class": int(y)}))
    config = _config({"type": "tfrecord", "path": str(tmp_path / "f.tfrecord"), "num_classes": 2,
                      "decode": False, "columns": {"image": "pixels", "label": "class"},
                      "features": {"pixels": {"type": "float32", "shape": [8, 8, 3]}, "class": {"type": "int64"}},
                      "train": {"transforms": [{"type": "HWC2CHW"}]}, "eval": {"transforms": [{"type": "HWC2CHW"}],
                                                                        "path": str(tmp_path / "clean.tfrecord")}})
    from mm_train.data.failures import reported_data_errors
    with pytest.raises(ConfigError) as err, reported_data_errors():   # the first batch is clean: the per-batch
        parts = build_parts(config, "train")                          # check finds it (in a prefetched batch
        for _ in parts.train_data.create_tuple_iterator(num_epochs=1, output_numpy=True):   # or while iterating)
            pass
    assert str(err.value).startswith(f"dataset.train: {tmp_path / 'f.tfrecord'} record 5: the image holds NaN values")


def test_an_image_of_another_size_is_named(tmp_path):
    write_image_folder(tmp_path / "imgs", 8, "train")
    write_image_folder(tmp_path / "imgs", 8, "val")
    from PIL import Image
    Image.new("RGB", (1, 1)).save(tmp_path / "imgs" / "train" / "class_0" / "00000.png")
    message = _refusal(_config({"type": "image_folder", "path": str(tmp_path / "imgs"), "num_classes": 2}))
    assert f"dataset.train: {tmp_path / 'imgs' / 'train' / 'class_0' / '00000.png'} is 1x1 pixels, " \
           "the other images 8x8" in message


def test_an_empty_eval_transform_list_is_named_before_compiling(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = write_mindrecord(tmp_path / "d.mindrecord", 12, classes=2)
    message = _refusal(_config({"type": "mindrecord", "path": str(files[0]), "num_classes": 2,
                                "eval": {"transforms": []}}))
    assert message.startswith("dataset.eval.transforms: is empty: one sample of the eval pipeline is uint8")
    assert not list(tmp_path.rglob("*.ir"))


def test_exif_rotated_jpegs_are_named_once_per_folder(tmp_path, capsys):
    from PIL import Image

    from mm_train.data.image_folder import check_images
    for i, orientation in enumerate((1, 6, 8, None)):
        folder = tmp_path / "train" / f"class_{i % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        exif = Image.Exif()
        if orientation is not None:
            exif[0x0112] = orientation
        Image.new("RGB", (8, 4)).save(folder / f"{i}.jpg", exif=exif.tobytes())
    check_images(tmp_path / "train", "dataset.path")
    out = capsys.readouterr().out
    assert out.count("note: ") == 1 and f"2 of 4 JPEG images in {tmp_path / 'train'} carry an EXIF orientation" in out
    assert "NOT rotated" in out


def test_mindspores_analyze_fail_ir_goes_into_the_run_directory(tmp_path, monkeypatch):
    import os

    import mindspore as ms
    from mindspore import nn

    from mm_train.jobs import execute
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MS_OM_PATH", raising=False)
    run_dir = tmp_path / "run"
    with pytest.raises(ConfigError):
        execute({"task": "train"}, run_dir, "quickstart")   # refused at validation; the setting is made first
    assert os.environ["MS_OM_PATH"] == str(run_dir.resolve())
    mode = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        with pytest.raises(TypeError):   # a graph that does not compile: MindSpore writes analyze_fail.ir
            nn.Dense(3, 2)(ms.Tensor(np.zeros((2, 5), np.uint8)))
    finally:
        ms.set_context(mode=mode)
    assert list(run_dir.rglob("analyze_fail.ir")) and not list((tmp_path).glob("rank_*"))


@pytest.mark.parametrize("shuffle", [False, True])
def test_a_cifar_label_outside_num_classes_names_the_file_and_record(tmp_path, shuffle):
    from mm_train.data.synthetic import write_cifar10
    folder = write_cifar10(tmp_path / "cifar")   # labels 0 1 2 ... 9 0 1 ...
    message = _refusal(_config({"type": "cifar10", "path": str(folder), "num_classes": 2,
                                "train": {"shuffle": shuffle}}, input_shape=(3, 32, 32)))
    assert message.startswith(f"dataset.train: {folder / 'data_batch_1.bin'} record 2: label 2 is outside [0, 2) "
                              "(dataset.num_classes)")


def test_a_cifar100_coarse_or_fine_label_is_found_in_its_own_byte(tmp_path):
    from mm_train.data.checks import locate
    from mm_train.data.cifar10 import IMAGE_BYTES
    records = np.zeros((3, 2 + IMAGE_BYTES), np.uint8)
    records[:, 0] = [0, 1, 7]      # coarse labels
    records[:, 1] = [0, 30, 1]     # fine labels
    (tmp_path / "train.bin").write_bytes(records.tobytes())
    assert locate("cifar100", {"path": str(tmp_path)}, 20, "train") == \
        f"{tmp_path / 'train.bin'} record 1: label 30 is outside [0, 20) (dataset.num_classes)"
    assert locate("cifar100", {"path": str(tmp_path), "label": "coarse"}, 5, "train") == \
        f"{tmp_path / 'train.bin'} record 2: label 7 is outside [0, 5) (dataset.num_classes)"


def test_an_image_folder_class_beyond_num_classes_names_the_first_image_of_that_class(tmp_path):
    write_image_folder(tmp_path / "imgs", 6, "train", classes=3)   # within debug=fast's 8 samples
    write_image_folder(tmp_path / "imgs", 12, "val", classes=2)   # val within range: the train split is named
    first = sorted((tmp_path / "imgs" / "train" / "class_2").iterdir())[0]
    config = _config({"type": "image_folder", "path": str(tmp_path / "imgs"), "num_classes": 2,
                      "train": {"batch_size": 2}})
    from mm_train.data.failures import reported_data_errors
    with pytest.raises(ConfigError) as err, reported_data_errors():   # the first batch is clean: the per-batch check
        parts = build_parts(config, "train")
        for _ in parts.train_data.create_tuple_iterator(num_epochs=1, output_numpy=True):
            pass
    assert str(err.value).startswith(f"dataset.train: {first}: label 2 is outside [0, 2) (dataset.num_classes)")
