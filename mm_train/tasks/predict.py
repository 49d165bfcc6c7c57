"""``task=predict``: label a user's images with a checkpoint or an exported MINDIR; ``RUN_DIR/predictions.csv``.

    python run.py +recipe=quickstart task=predict init_from=RUN/checkpoints/quickstart-10_44.ckpt predict.input=img.png
    python run.py +recipe=quickstart task=predict init_from=X.ckpt predict.input=photos/ predict.top_k=3
    python run.py +recipe=quickstart task=predict predict.model=RUN/model.mindir predict.input=digits/   # deployed

``predict.input`` is one image file, a folder of images, or a folder of class folders
(``digits/3/a.png``: then the accuracy against the folder names is printed and kept in
``metrics.json``). Images (JPEG/PNG) are decoded as the data readers decode them (grey
and RGBA become RGB), go through the recipe's eval transforms and are batched
(``predict.batch_size``, default ``dataset.eval.batch_size``; a MINDIR's own batch size).
Each row of predictions.csv: the file (relative to the input folder), the predicted label,
its score (softmax), the ``predict.top_k`` best labels and scores (capped at the class
count) and, for class folders, the folder. Labels are ``dataset.classes``, an image_folder
data set's class folder names, or class indices. A checkpoint's EMA weights are used when
it has them (``init_from={path: X.ckpt, ema: false}`` for the raw ones).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import numpy as np

from mm_train.core.errors import ConfigError
from mm_train.registry import TASKS

EXPECTED = "an image file, a folder of images, or a folder of class folders (JPEG/PNG)"


@dataclass
class Inputs:
    files: list[Path]
    names: list[str]                  # what predictions.csv calls each file
    folders: Optional[list[str]]      # the class folder of each file, or None


def _images(folder: Path) -> list[Path]:
    """image_folder's image files of ``folder``, without hidden ones (``._x.jpg`` of a copy from macOS)."""
    from mm_train.data.image_folder import image_files
    return [f for f in image_files(folder) if not f.name.startswith(".")]


def find_inputs(value: Any) -> Inputs:
    """The images ``predict.input`` names: a file, a folder of images, or a folder of class folders."""
    if not value:
        raise ConfigError("predict.input", "task=predict needs images", expected=f"predict.input=PATH: {EXPECTED}")
    path = Path(str(value))
    if not path.exists():
        raise ConfigError("predict.input", f"not found: {path}", expected=EXPECTED)
    if path.is_file():
        from mm_train.data.image_folder import EXTENSIONS
        if path.suffix.lower() not in EXTENSIONS:
            raise ConfigError("predict.input", f"{path} is not a JPEG or PNG file", expected=EXPECTED)
        return Inputs([path], [path.name], None)
    files = _images(path)
    if files:
        return Inputs(files, [f.name for f in files], None)
    classes = sorted(d for d in path.iterdir() if d.is_dir() and not d.name.startswith(".") and _images(d))
    found = [(f, d.name) for d in classes for f in _images(d)]
    if not found:
        raise ConfigError("predict.input", f"no JPEG or PNG images in {path} or its sub-folders", expected=EXPECTED)
    return Inputs([f for f, _ in found], [f"{c}/{f.name}" for f, c in found], [c for _, c in found])


def class_names(config: Mapping[str, Any], count: int) -> list[str]:
    """Labels of the ``count`` outputs: ``dataset.classes``, image_folder's class folders, or indices."""
    dataset = config.get("dataset") or {}
    names = dataset.get("classes")
    if names is not None:
        if not isinstance(names, list) or len(names) != count:
            raise ConfigError("dataset.classes", f"got {names!r}",
                              expected=f"a list of {count} class names (the network has {count} outputs)")
        return [str(n) for n in names]
    if dataset.get("type") == "image_folder":
        from mm_train.data.image_folder import check_folder
        split = dataset.get("train") or {}
        path, usage = split.get("path", dataset.get("path")), split.get("usage", dataset.get("usage")) or "train"
        if path and (Path(str(path)) / usage).is_dir():
            index = check_folder(Path(str(path)), usage, "dataset")
            if len(index) == count:
                return sorted(index, key=index.get)
    return [str(i) for i in range(count)]


def load_image(file: Path, transforms: list, input_shape: tuple) -> np.ndarray:
    """One decoded, eval-transformed sample of ``input_shape``; ConfigError naming ``file`` otherwise."""
    import mindspore.dataset.vision as vision
    try:
        image = vision.Decode()(np.fromfile(str(file), np.uint8))
    except (RuntimeError, ValueError, TypeError):
        raise ConfigError("predict.input", f"cannot decode {file}", expected="a JPEG or PNG image") from None
    try:
        for op in transforms:
            image = op(image)
    except (RuntimeError, ValueError, TypeError) as err:
        raise ConfigError("predict.input", f"{file}: the eval transforms fail on it: {str(err).splitlines()[0]}",
                          expected="an image like the recipe's data") from None
    image = np.asarray(image, dtype=np.float32)
    if tuple(image.shape) != tuple(input_shape):
        if image.ndim == len(input_shape) and image.shape[1:] == tuple(input_shape[1:]):
            problem = f"{image.shape[0]} channels after the eval transforms; the network takes {input_shape[0]}"
        else:
            problem = f"shape {tuple(image.shape)} after the eval transforms; the network takes {tuple(input_shape)}"
        raise ConfigError("predict.input", f"{file}: {problem}",
                          expected=f"images that the recipe's eval transforms turn into {list(input_shape)}")
    return image


def _mindir_input_shape(path: Path) -> tuple:
    from mindspore.train import mind_ir_pb2
    model = mind_ir_pb2.ModelProto()
    model.ParseFromString(path.read_bytes())
    return tuple(int(d) for d in model.graph.input[0].tensor[0].dims)


def load_predictor(config: Mapping[str, Any]) -> tuple[Callable, Optional[int], tuple]:
    """``(logits of a float32 batch, fixed batch size or None, per-sample input shape)``."""
    import mindspore as ms
    from mindspore import nn

    model = (config.get("predict") or {}).get("model")
    if model:
        path = Path(str(model))
        if not path.is_file() or path.suffix.lower() != ".mindir":
            raise ConfigError("predict.model", f"not a MINDIR file: {path}",
                              expected="a FILE.mindir written by task=export")
        try:
            graph, shape = nn.GraphCell(ms.load(str(path))), _mindir_input_shape(path)
        except (RuntimeError, ValueError, OSError) as err:
            raise ConfigError("predict.model", f"cannot load {path}: {str(err).splitlines()[0]}",
                              expected="a FILE.mindir written by task=export") from None
        return (lambda batch: graph(ms.Tensor(batch)).asnumpy()), shape[0], shape[1:]
    if not config.get("init_from"):
        raise ConfigError("init_from", "task=predict needs weights",
                          expected="init_from=PATH.ckpt, or predict.model=FILE.mindir")
    from mm_train.assembly.init_from import network_with_weights
    input_shape = (config.get("network") or {}).get("input_shape")
    if not input_shape:
        raise ConfigError("network.input_shape", "missing", expected="the per-sample input shape, e.g. [3, 32, 32]")
    network = network_with_weights(config)
    network.set_train(False)
    from mm_train.tasks.inference_memory import guard
    guard(network, "task=predict")
    return (lambda batch: network(ms.Tensor(batch)).asnumpy()), None, tuple(int(d) for d in input_shape)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits.astype(np.float64) - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def predict_images(config: Mapping[str, Any], run_dir: Path) -> Optional[float]:
    """Label ``predict.input``; write ``RUN_DIR/predictions.csv`` (and metrics.json for class folders).

    Returns the accuracy against the class folders, or None.
    """
    from mm_train.run_dir.files import write_json
    from mm_train.data import SplitSettings
    from mm_train.data.transforms import build_transforms

    settings = config.get("predict") or {}
    inputs = find_inputs(settings.get("input"))
    predictor, fixed_batch, input_shape = load_predictor(config)
    dataset = config.get("dataset") or {}
    eval_split = dataset.get("eval") or {}
    transforms = build_transforms(eval_split.get("transforms"), "dataset.eval.transforms")
    batch_size = fixed_batch or int(settings.get("batch_size") or eval_split.get("batch_size")
                                    or SplitSettings.batch_size)
    total, done, rows, labels = len(inputs.files), 0, [], None
    batches = (total + batch_size - 1) // batch_size
    for start in range(0, total, batch_size):
        files = inputs.files[start:start + batch_size]
        batch = np.stack([load_image(f, transforms, input_shape) for f in files])
        padded = np.concatenate([batch, np.zeros((batch_size - len(files), *batch.shape[1:]), np.float32)])
        scores = _softmax(predictor(padded)[:len(files)])
        if labels is None:
            labels = class_names(config, scores.shape[1])
            top_k = min(int(settings.get("top_k") or 5), len(labels))
        for i, row in enumerate(scores):
            best = np.argsort(-row, kind="stable")[:top_k]
            rows.append([inputs.names[start + i], labels[best[0]], f"{row[best[0]]:.6f}"]
                        + [v for j in best for v in (labels[j], f"{row[j]:.6f}")]
                        + ([inputs.folders[start + i]] if inputs.folders else []))
        done += len(files)
        if batches >= 10 and (start // batch_size + 1) % max(1, batches // 10) == 0:
            print(f"predict: {done}/{total} images", flush=True)
    run_dir = Path(run_dir)
    header = ["file", "label", "score"] + [f"top{j}_{kind}" for j in range(1, top_k + 1) for kind in ("label", "score")]
    with open(run_dir / "predictions.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header + (["folder"] if inputs.folders else []))
        writer.writerows(rows)
    print(f"predict: {total} images -> {run_dir / 'predictions.csv'}", flush=True)
    if not inputs.folders:
        return None
    unknown = sorted(set(inputs.folders) - set(labels))
    if unknown:
        print(f"predict: warning: class folders that are not labels of the recipe: {unknown[:10]} "
              f"(labels: {labels[:10]}{' ...' if len(labels) > 10 else ''})", flush=True)
    accuracy = float(np.mean([r[1] == r[-1] for r in rows]))
    print(f"predict: accuracy {accuracy:.4f} on {total} images in {len(set(inputs.folders))} class folders",
          flush=True)
    write_json(run_dir / "metrics.json", {"final": {"acc": accuracy}, "task": "predict", "images": total,
                                          "predictions": "predictions.csv"})
    return accuracy


@TASKS.register("predict")
def predict_task(config: Mapping[str, Any], run_dir: Path, recipe: str, record=None) -> Optional[float]:
    """Label the images of ``predict.input``: RUN_DIR/predictions.csv (and the accuracy for class folders)."""
    return predict_images(config, run_dir)
