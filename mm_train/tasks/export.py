"""``task=export``: write the network with ``init_from`` weights as MINDIR (AIR, ONNX) into the run directory.

    python run.py +recipe=quickstart task=export init_from=RUN/checkpoints/quickstart-10_42.ckpt
    python run.py +recipe=quickstart task=export init_from=X.ckpt export.format=ONNX export.batch_size=8

The input is a zero tensor of shape ``(export.batch_size, *network.input_shape)``.
Load a MINDIR back with ``nn.GraphCell(ms.load(path))``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from mm_train.run_dir import paths
from mm_train.core.errors import ConfigError, closest
from mm_train.registry import TASKS

FORMATS = {"MINDIR": ".mindir", "AIR": ".air", "ONNX": ".onnx"}
KEYS = ("format", "file_name", "batch_size")


def export_settings(spec: Mapping[str, Any] | None, target: str) -> dict[str, Any]:
    """``export`` with defaults, checked before anything is built."""
    spec = dict(spec or {})
    unknown = [k for k in spec if k not in KEYS]
    if unknown:
        raise ConfigError(f"export.{unknown[0]}", "unknown key", expected=f"one of {list(KEYS)}",
                          suggestions=closest(unknown[0], KEYS))
    fmt = str(spec.get("format") or "MINDIR").upper()
    if fmt not in FORMATS:
        raise ConfigError("export.format", f"unknown format '{spec.get('format')}'",
                          expected=f"one of {list(FORMATS)}", suggestions=closest(fmt, FORMATS))
    if fmt == "AIR" and target != "Ascend":
        raise ConfigError("export.format", "AIR files are written only on Ascend by MindSpore",
                          expected="export.format=MINDIR or ONNX on this device, or device=ascend")
    batch = spec.get("batch_size", 1)
    if not isinstance(batch, int) or batch < 1:
        raise ConfigError("export.batch_size", f"got {batch!r}", expected="a whole number >= 1")
    file_name = paths.check(spec.get("file_name") or "model", "export.file_name")   # inside the run dir
    return {"format": fmt, "file_name": file_name, "batch_size": batch}


def export_network(network, input_shape, run_dir: Path, settings: Mapping[str, Any]) -> Path:
    """Export ``network`` (inference mode) for inputs ``(batch, *input_shape)``; the written file."""
    import mindspore as ms
    import numpy as np

    fmt = settings["format"]
    network.set_train(False)
    sample = ms.Tensor(np.zeros((settings["batch_size"], *input_shape), np.float32))
    base = paths.inside(Path(run_dir), settings["file_name"], "export.file_name")
    try:
        ms.export(network, sample, file_name=str(base), file_format=fmt)
    except (RuntimeError, ValueError, TypeError, NotImplementedError) as err:
        raise ConfigError("export.format", f"MindSpore could not export {fmt}: {str(err).strip().splitlines()[0]}",
                          expected="export.format=MINDIR, which every MindSpore build writes") from None
    path = base.with_name(base.name + FORMATS[fmt])
    if not path.is_file():
        raise ConfigError("export.format", f"MindSpore wrote no {path.name}", expected="export.format=MINDIR")
    from mm_train.runtime.checkpoints import ordinary_mode
    ordinary_mode(path)   # MindSpore writes 0400: awkward in a shared run directory
    print(f"exported {fmt}: {path}", flush=True)
    return path


@TASKS.register("export", needs_weights=True)
def export_task(config: Mapping[str, Any], run_dir: Path, recipe: str, record=None) -> None:
    """``task=export``: the network with ``init_from``'s weights (required by validation) as MINDIR (ONNX, AIR)
    in the run directory."""
    from mm_train.assembly.init_from import network_with_weights

    settings = export_settings(config.get("export"), config["device"].get("target", "CPU"))
    input_shape = (config["network"] or {}).get("input_shape")
    if not input_shape:
        raise ConfigError("network.input_shape", "missing", expected="the per-sample input shape, e.g. [3, 32, 32]")
    export_network(network_with_weights(config), list(input_shape), run_dir, settings)
