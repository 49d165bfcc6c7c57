"""``task=summary`` and ``task=check``: look at a recipe's network without training it.

    python run.py +recipe=resnet50_cifar task=summary   # layers, output shapes, params; reads no data
    python run.py +recipe=resnet18_cifar task=check     # operator assessment on the selected device/mode

``check`` builds every part of the recipe on the selected device (network, loss, lr
schedule, loss scale, optimizer, Model), runs each named top-level layer on a random
batch shaped like the dataset's (``network.input_shape``, the train batch size capped
at :data:`MAX_BATCH`), then one forward of the whole network and one training step.
It reports each part as OK or FAILED with MindSpore's own message, and exits with
code 1 (:class:`mm_train.core.errors.CheckFailed`) when anything failed. The training step is
built by :func:`mm_train.assembly.parts.build_training`, as ``task=train`` builds it.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from mm_train.core.errors import CheckFailed, ConfigError
from mm_train.registry import TASKS

MAX_BATCH = 2


def _n(value: int) -> str:
    return f"{value:,}"


def _table(rows: list[tuple], header: tuple, right: tuple = ()) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                       for i, (c, w) in enumerate(zip(row, widths))).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def summary_lines(network_cfg: Mapping[str, Any], title: str = "network", max_params: int | None = None) -> list[str]:
    """The summary table of ``network_cfg``; the last line is ``Total params: N`` (trainable)."""
    from mm_train.nn.builder import build_network

    net, infos = build_network(network_cfg, **({"max_params": max_params} if max_params else {}))
    rows = [(info.name, info.type, str(tuple(info.output_shape)), _n(info.params)) for info in infos]
    header, right = ("Layer", "Type", "Output shape", "Params"), (3,)
    if hasattr(net, "layer_cells"):   # a graph network: which layers each layer takes
        rows = [(*row[:2], ", ".join(info.inputs) or "-", *row[2:]) for row, info in zip(rows, infos)]
        header, right = ("Layer", "Type", "Inputs", "Output shape", "Params"), (4,)
    trainable = sum(p.size for p in net.trainable_params())
    frozen = sum(p.size for p in net.get_parameters()) - trainable
    lines = [f"{title}: input {tuple(network_cfg['input_shape'])} (one sample, channels first)", ""]
    lines += _table(rows, header, right=right)
    lines += ["", f"Not trained (BatchNorm moving statistics and frozen values): {_n(frozen)}",
              f"Total params: {_n(trainable)}"]
    return lines


def summary(config: Mapping[str, Any], run_dir: Path, recipe: str = "network") -> list[str]:
    from mm_train.nn.budget import max_params
    lines = summary_lines(config["network"], recipe, max_params(config))
    text = "\n".join(lines)
    print(text, flush=True)
    (Path(run_dir) / "summary.txt").write_text(text + "\n", encoding="utf-8")
    return lines


def mindspore_message(err: BaseException, limit: int = 600) -> str:
    """The user-facing part of a MindSpore error: no call stacks, no separator lines, one line."""
    text = str(err)
    for marker in ("- C++ Call Stack", "- The Function Call Stack", "- The Traceback of Net Construct Code",
                   "- Framework Unexpected Exception"):
        head, _, _ = text.partition(marker)
        text = head if head.strip() else text
    lines = [line.strip().lstrip("- ").strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not re.fullmatch(r"-+", line)]
    message = " ".join(lines) or type(err).__name__
    message = f"{type(err).__name__}: {message}"
    return message if len(message) <= limit else message[:limit - 3] + "..."


@dataclass
class Result:
    part: str
    kind: str
    ok: bool
    detail: str


def _random_batch(shape: tuple, batch: int, classes: int | None = None):
    import numpy as np
    rng = np.random.default_rng(0)
    images = rng.standard_normal((batch, *shape)).astype(np.float32)
    labels = rng.integers(0, classes, size=(batch,)).astype(np.int32) if classes else None
    return images, labels


def _graph_inputs(info, batch: int) -> list:
    """Random inputs for a graph layer: one per name in ``info.inputs`` (none for a Parameter)."""
    import numpy as np
    from mm_train.nn.shapes import is_unbatched
    shapes = [info.input_shape] if len(info.inputs) == 1 else list(info.input_shape)
    rng = np.random.default_rng(0)
    return [rng.standard_normal(tuple(s) if is_unbatched(s) else (batch, *s)).astype(np.float32) for s in shapes]


def _try(part: str, kind: str, fn) -> Result:
    try:
        detail = fn()
        return Result(part, kind, True, detail or "compiled and ran")
    except Exception as err:  # noqa: BLE001 - the point is to report whatever MindSpore raises
        if isinstance(err, ConfigError):
            raise
        return Result(part, kind, False, mindspore_message(err))


def _run_block(cell, x, expected: tuple):
    """``cell`` on ``x`` (a list: the inputs of a graph layer); its per-sample output shape must be ``expected``."""
    import mindspore as ms
    from mm_train.nn.shapes import is_unbatched
    out = cell(*[ms.Tensor(v) for v in x]) if isinstance(x, list) else cell(ms.Tensor(x))
    got = tuple(out.shape if is_unbatched(expected) else out.shape[1:])
    if got != tuple(expected):
        raise ValueError(f"output shape {got} differs from the inferred {tuple(expected)}")
    return f"compiled and ran, output {tuple(out.shape)}"


def check_parts(config: Mapping[str, Any]) -> tuple[list[Result], tuple]:
    """Build and run every part of ``config``; return the per-part results and the batch shape."""
    import mindspore.dataset as ds
    from mindspore.train import Callback, Model

    from mm_train.learning.amp import loss_scale_of
    from mm_train.assembly.parts import build_training
    from mm_train.assembly.init_from import recipe_network

    network, infos = recipe_network(config)
    batch = max(1, min(int((config["dataset"].get("train") or {}).get("batch_size", MAX_BATCH)), MAX_BATCH))
    out_shape = getattr(network, "output_shape", infos[-1].output_shape)
    classes = math.prod(out_shape)
    shape = tuple(config["network"]["input_shape"])
    images, labels = _random_batch(shape, batch, classes)
    results = []
    network.set_train(False)
    graph = getattr(network, "layer_cells", None)   # a graph network (mm_train.nn.graph): inputs per layer
    cells = graph or dict(network.name_cells())
    for info in infos:
        x = _graph_inputs(info, batch) if graph else _random_batch(info.input_shape, batch)[0]
        results.append(_try(info.name, info.type, lambda c=cells[info.name], x=x, o=info.output_shape:
                            _run_block(c, x, o)))
    results.append(_try("network", "forward", lambda: _run_block(network, images, out_shape)))

    scale = loss_scale_of(config.get("loss_scale"), config["device"].get("target", "CPU"), quiet=True)
    _, _, train_network = build_training(config, network, 1, 1, scale, config["train"].get("amp_level", "O0"))
    losses = []

    class KeepLoss(Callback):
        def on_train_step_end(self, run_context):
            out = run_context.original_args().net_outputs
            losses.append(float((out[0] if isinstance(out, (tuple, list)) else out).asnumpy()))

    def train_step():
        network.set_train(True)
        model = Model(train_network)   # the step task=train runs
        data = ds.NumpySlicesDataset({"image": images, "label": labels}, shuffle=False).batch(batch)
        model.train(1, data, callbacks=[KeepLoss()],
                    dataset_sink_mode=bool(config["device"].get("dataset_sink_mode", False)))
        if not losses or not math.isfinite(losses[-1]):
            raise ValueError(f"the training step gave loss {losses[-1] if losses else None}")
        return f"compiled and ran, loss {losses[-1]:.4f}"

    kind = f"{config['loss']['type']} + {config['optimizer']['type']}"
    results.append(_try("train step", kind, train_step))
    return results, (batch, *shape)


def check(config: Mapping[str, Any], run_dir: Path, recipe: str = "network") -> list[Result]:
    """Print the per-part report; raise :class:`CheckFailed` (exit 1) when any part failed."""
    device = config["device"]
    results, batch = check_parts(config)
    where = f"{device['target']} ({device.get('mode', 'graph')} mode)"
    rows = [(r.part, r.kind, "OK" if r.ok else "FAILED", r.detail) for r in results]
    lines = [f"check: {recipe} on {where}, random batch {batch} float32, labels int32", ""]
    lines += _table(rows, ("Part", "Type", "Status", "Detail"))
    failed = [r.part for r in results if not r.ok]
    lines.append("")
    lines.append(f"check passed: all {len(results)} parts compiled and ran on {where}" if not failed else
                 f"check FAILED: {len(failed)} of {len(results)} parts did not run on {where}: {', '.join(failed)}")
    text = "\n".join(lines)
    print(text, flush=True)
    (Path(run_dir) / "check.txt").write_text(text + "\n", encoding="utf-8")
    if failed:
        raise CheckFailed(failed)
    return results


@TASKS.register("summary", report=True)
def summary_task(config: Mapping[str, Any], run_dir: Path, recipe: str, record=None) -> list[str]:
    """Layers, output shapes and parameters; reads no data."""
    return summary(config, run_dir, recipe)


@TASKS.register("check", report=True)
def check_task(config: Mapping[str, Any], run_dir: Path, recipe: str, record=None) -> list[Result]:
    """Operator assessment on the selected device; exit 1 when a part failed."""
    return check(config, run_dir, recipe)
