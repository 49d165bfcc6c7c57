"""Shared by the migration tests: torchvision ResNet-18's state_dict layout, small recipes."""
from __future__ import annotations

from pathlib import Path

import numpy as np

DATASET = """dataset:
  type: mindrecord
  columns: {image: image, label: label}
  decode: true
  num_classes: 10
  train: {path: "${paths.bundled}/digits/train.mindrecord", batch_size: 8,
          transforms: [{type: Rescale, rescale: 0.0039, shift: 0.0}, {type: HWC2CHW}]}
  eval: {path: "${paths.bundled}/digits/test.mindrecord", batch_size: 8,
         transforms: [{type: Rescale, rescale: 0.0039, shift: 0.0}, {type: HWC2CHW}]}
loss: {type: SoftmaxCrossEntropyWithLogits, sparse: true, reduction: mean}
optimizer: {type: Momentum, momentum: 0.9}
lr_schedule: {type: warmup_cosine, lr_init: 0.01, lr_max: 0.1, lr_end: 0.0, warmup_epochs: 1}
"""


# A Keras-style ResNet (Keras ResNet50's eps and momentum, torchvision-style stride on the 1x1):
# the network of the Keras weight tests (test_migrate_keras, test_keras3_files, test_weight_import_wrappers).
KERAS_RESNET = """network:
  input_shape: [3, 8, 8]
  layers:
    conv1: {type: Conv2d, out_channels: 8, kernel_size: 3, pad_mode: same}
    bn1: {type: BatchNorm2d, eps: 1.001e-5, momentum: 0.99}
    relu: {type: ReLU}
    layer1: {type: Stage, block: ResidualBlock, repeat: 2, out_channels: 16, stride: 2, expansion: 4,
             stride_on: 1x1, pad_mode: same, eps: 1.001e-5, momentum: 0.99, style: torchvision}
    avgpool: {type: GlobalAvgPool}
    fc: {type: Dense, out_channels: 5}
"""


def write_recipe(folder: Path, name: str, network_yaml: str) -> Path:
    """A recipe NAME.yaml in ``folder`` with the bundled digits data and ``network_yaml``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text("# @package _global_\n" + DATASET + network_yaml, encoding="utf-8")
    return path


def torchvision_resnet18_shapes(num_classes: int = 1000) -> dict[str, tuple]:
    """Names and shapes of ``torchvision.models.resnet18().state_dict()``, written out from torchvision's code."""
    shapes: dict[str, tuple] = {}

    def bn(prefix, c):
        shapes.update({f"{prefix}.weight": (c,), f"{prefix}.bias": (c,), f"{prefix}.running_mean": (c,),
                       f"{prefix}.running_var": (c,), f"{prefix}.num_batches_tracked": ()})

    shapes["conv1.weight"] = (64, 3, 7, 7)
    bn("bn1", 64)
    cin = 64
    for stage, cout in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            p = f"layer{stage}.{block}"
            shapes[f"{p}.conv1.weight"] = (cout, cin, 3, 3)
            bn(f"{p}.bn1", cout)
            shapes[f"{p}.conv2.weight"] = (cout, cout, 3, 3)
            bn(f"{p}.bn2", cout)
            if block == 0 and stage > 1:
                shapes[f"{p}.downsample.0.weight"] = (cout, cin, 1, 1)
                bn(f"{p}.downsample.1", cout)
            cin = cout
    shapes["fc.weight"] = (num_classes, 512)
    shapes["fc.bias"] = (num_classes,)
    return shapes


def random_state_dict(shapes: dict[str, tuple], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in shapes.items():
        if name.endswith("num_batches_tracked"):
            out[name] = np.array(100, dtype=np.int64)
        elif name.endswith("running_var"):
            out[name] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        else:
            out[name] = rng.normal(0, 0.1, shape).astype(np.float32)
    return out


def mindspore_name(torch_name: str) -> str:
    """The expected target name (written independently of the rule files)."""
    for old, new in ((".running_mean", ".moving_mean"), (".running_var", ".moving_variance")):
        if torch_name.endswith(old):
            return torch_name[: -len(old)] + new
    is_bn = any(part.startswith("bn") for part in torch_name.split(".")) or ".downsample.1." in torch_name
    if is_bn and torch_name.endswith(".weight"):
        return torch_name[: -len(".weight")] + ".gamma"
    if is_bn and torch_name.endswith(".bias"):
        return torch_name[: -len(".bias")] + ".beta"
    return torch_name


def pickle_text(s: str) -> bytes:
    """A str as pickle's BINUNICODE opcode."""
    import struct
    return b"X" + struct.pack("<I", len(s.encode())) + s.encode()


def write_pth(path: Path, tensors: dict[str, tuple], storage: np.ndarray, under: str | None = None,
              extra: bytes = b"") -> Path:
    """A torch.save zip without torch: one float32 ``storage`` and ``{name: (size, stride, offset)}`` views of it.

    The pickle is written opcode by opcode, as torch writes it (protocol 2, ``_rebuild_tensor_v2``). With
    ``under``, the state_dict is the entry ``under`` of a top-level dict that also holds the ``extra``
    key/value opcodes (:func:`pickle_text` keys), as a training checkpoint does.
    """
    import struct
    import zipfile

    def text(s: str) -> bytes:
        return b"X" + struct.pack("<I", len(s.encode())) + s.encode()

    def ints(values) -> bytes:
        return b"(" + b"".join(b"J" + struct.pack("<i", v) for v in values) + b"t"

    numel = int(np.asarray(storage).size)
    persistent = b"(" + text("storage") + b"ctorch\nFloatStorage\n" + text("0") + text("cpu") + \
        b"J" + struct.pack("<i", numel) + b"tQ"
    body = b"\x80\x02}(" + (text(under) + b"}(" if under else b"")
    for name, (size, stride, offset) in tensors.items():
        body += text(name) + b"ctorch._utils\n_rebuild_tensor_v2\n(" + persistent + b"J" + \
            struct.pack("<i", offset) + ints(size) + ints(stride) + b"\x89ccollections\nOrderedDict\n)RtR"
    body += (b"u" + extra if under else b"") + b"u."
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", body)
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/data/0", np.asarray(storage, "<f4").tobytes())
        archive.writestr("archive/version", "3\n")
    return path
