"""Helpers for the training-feature tests: compose a recipe in-process, read checkpoints and event files."""
from __future__ import annotations

import os
import struct
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

import helpers

ROOT = helpers.ROOT
SMALL = ("+dataset.train.limit=64", "dataset.train.batch_size=16", "+dataset.eval.limit=64",
         "dataset.eval.batch_size=32", "train.epochs=2", "callbacks=[]")


def compose(*overrides: str, recipe: str = "quickstart") -> dict:
    """:func:`helpers.compose` with the recipe as a keyword (the training tests' order)."""
    return helpers.compose(recipe, *overrides)


def train(run_dir: Path, *overrides: str, recipe: str = "quickstart"):
    """Run ``execute`` in this process on the small quickstart setting; returns the final accuracy."""
    from mm_train.jobs import execute
    return execute(compose(*SMALL, *overrides, recipe=recipe), Path(run_dir), recipe)


def weights(path: Path) -> dict[str, np.ndarray]:
    import mindspore as ms
    return {k: v.asnumpy() for k, v in ms.load_checkpoint(str(path)).items()}


def read_events(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """Scalars of every tensorboardX event file in ``folder``, checking each record's CRCs."""
    from tensorboardX.crc32c import crc32c
    from tensorboardX.proto.event_pb2 import Event

    def masked(data: bytes) -> int:
        crc = crc32c(data)
        return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF

    scalars: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(Path(folder).glob("events.out.tfevents.*")):
        data, pos = path.read_bytes(), 0
        while pos < len(data):
            header = data[pos:pos + 8]
            (length,) = struct.unpack("<Q", header)
            (header_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
            assert header_crc == masked(header), f"bad length CRC in {path}"
            body = data[pos + 12:pos + 12 + length]
            (body_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
            assert body_crc == masked(body), f"bad data CRC in {path}"
            pos += 16 + length
            event = Event.FromString(body)
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars


def replace(key: str, spec: dict) -> tuple[str, str]:
    """Overrides that replace the mapping at ``key`` (a plain ``key={...}`` would merge into it)."""
    body = ", ".join(f"{k}: {v}" for k, v in spec.items())
    return f"~{key}", f"+{key}={{{body}}}"


KILLER = textwrap.dedent("""
    # run.py, with one more callback that SIGKILLs this process after global step KILL_AT
    import os, runpy, signal, sys
    from mindspore.train import Callback
    from mm_train.registry import CALLBACKS

    class KillAt(Callback):
        def __init__(self, ctx, step):
            super().__init__()
            self.ctx, self.step = ctx, step
        def on_train_step_end(self, run_context):
            if self.ctx.global_step(run_context.original_args()) == self.step:
                os.kill(os.getpid(), signal.SIGKILL)

    CALLBACKS.register("KillAt", lambda ctx, step: KillAt(ctx, step))
    sys.argv = [sys.argv[1]] + sys.argv[2:]
    runpy.run_path(sys.argv[0], run_name="__main__")
""")


def run_killed_at(step: int, *overrides: str) -> subprocess.CompletedProcess:
    """``python run.py OVERRIDES`` with one more callback that SIGKILLs the process after global ``step``
    (appended to the ``callbacks=[...]`` override, which OVERRIDES must hold)."""
    killer = Path(tempfile.mkdtemp(prefix="mm_train_killer_")) / "killer.py"
    killer.write_text(KILLER)
    overrides = [o[:-1] + f", {{type: KillAt, step: {step}}}]" if o.startswith("callbacks=[") else o
                 for o in overrides]
    return subprocess.run([sys.executable, str(killer), str(ROOT / "run.py"), *overrides], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env=dict(os.environ))


def train_steps(config: dict, weights: dict | None = None, steps: int = 2):
    """``steps`` steps of mm_train's train step on one random batch of 4 (3x32x32, 10 classes) for the
    recipe ``config``'s network, from ``weights`` (name -> array) when given: (start weights, losses, end
    weights)."""
    import mindspore as ms

    from mm_train.assembly.parts import build_training
    from mm_train.learning.amp import parse_loss_scale
    from mm_train.nn.builder import build_network

    network, _ = build_network(config["network"])
    if weights is not None:
        for p in network.trainable_params():
            p.set_data(ms.Tensor(weights[p.name]))
    start = {p.name: p.asnumpy().copy() for p in network.trainable_params()}
    _, _, step = build_training(config, network, 4, 4, parse_loss_scale(None, "CPU"), "O0")
    rng = np.random.default_rng(0)
    x = ms.Tensor(rng.normal(0, 1, (4, 3, 32, 32)).astype(np.float32))
    y = ms.Tensor(rng.integers(0, 10, 4).astype(np.int32))
    losses = [float(step(x, y).asnumpy()) for _ in range(steps)]
    return start, losses, {p.name: p.asnumpy() for p in network.trainable_params()}
