"""The benches' own Python environments for PyTorch and Keras (never mm_train dependencies).

A bench that compares with torch or Keras runs them in a venv of its own, made on first use
under ``bench/.venvs/`` with ``python3 -m venv`` and ``pip install`` of the pinned packages below;
a path given on the command line (``--torch-python``, ``--keras-python``/``--tf-python``) or in
``BENCH_TORCH_PYTHON`` / ``BENCH_KERAS_PYTHON`` is used as it is.

    parser.add_argument("--torch-python", default=venvs.default("torch"), type=venvs.ensure)
    python = venvs.ensure(venvs.default("torch"))     # makes bench/.venvs/torch if needed

    python bench/venvs.py torch keras                 # make both now and print their pythons
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

VENVS = Path(__file__).resolve().parent / ".venvs"
PINS = {   # the versions the tables in README.md / docs/performance.md were measured with
    "torch": ["torch==2.14.1", "torchvision==0.29.1", "timm==1.0.31", "numpy==1.26.4", "onnx==1.23.2",
              "onnxruntime==1.32.0", "onnxscript==0.7.2"],
    "keras": ["tensorflow==2.21.0", "keras==3.15.1", "tf2onnx==1.17.0", "onnx==1.23.2", "onnxruntime==1.32.0",
              "h5py==3.14.0"],
}
ENV = {"torch": "BENCH_TORCH_PYTHON", "keras": "BENCH_KERAS_PYTHON"}


def default(kind: str) -> str:
    """The python to use when none is given: ``$BENCH_<KIND>_PYTHON``, else the bench's own venv."""
    return os.environ.get(ENV[kind]) or str(VENVS / kind / "bin" / "python")


def ensure(python: str) -> str:
    """``python`` itself; when it is one of the bench's own venvs (``bench/.venvs/KIND``), made first if missing."""
    path = Path(python)
    for kind, pins in PINS.items():
        venv = VENVS / kind
        if path == venv / "bin" / "python":
            stamp = venv / "pins.txt"
            if not (path.exists() and stamp.exists() and stamp.read_text().split() == pins):
                print(f"making {venv} ({' '.join(pins)}); this downloads packages once", file=sys.stderr, flush=True)
                subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
                subprocess.run([str(path), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
                subprocess.run([str(path), "-m", "pip", "install", "--quiet", *pins], check=True)
                stamp.write_text("\n".join(pins) + "\n")
    return python


if __name__ == "__main__":
    for name in sys.argv[1:] or ["torch"]:
        print(ensure(default(name)))
