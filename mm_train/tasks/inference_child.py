"""Inference whose memory the estimate cannot vouch for runs in a child process, so a kernel kill is reported.

:mod:`mm_train.tasks.inference_memory` switches an attention network to PyNative when graph mode's compile is
estimated above the memory available. Below that, the estimate decides only when even the costliest rate
measured (:data:`~mm_train.tasks.inference_memory.GRAPH_BYTES_PER_PARAM`, ViT-B/16's graph compile) fits in
:data:`SAFE_SHARE` of the memory available: a small network runs in process as before. Otherwise
``mm-train parity`` runs itself again in a child process (the same arguments, :data:`CHILD_ENV` set) and
waits; when the kernel kills the child (SIGKILL, as the out-of-memory killer does) the parent prints one
line and exits 1 (a run that failed, as a dead msrun worker does; a bad input is 2)::

    parity: killed by the kernel (SIGKILL) while running the network in graph mode, most likely out of
    memory (61.2 M parameters, 11.9 GB available); run it again with device.mode=pynative, which computes
    the same outputs in far less memory
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys

SAFE_SHARE = 0.4            # of the memory available: the costliest measured rate fits here -> run in process
CHILD_ENV = "MM_TRAIN_INFERENCE_CHILD"


class RunInChild(Exception):
    """Raised by :func:`check` in the parent: run the command again in a child process (:func:`run_child`)."""

    def __init__(self, params: int, available: int):
        super().__init__(f"{params} parameters, {available} bytes available")
        self.params, self.available = params, available


def in_child() -> bool:
    return os.environ.get(CHILD_ENV) == "1"


def check(network, available: int | None = None) -> None:
    """After :func:`mm_train.tasks.inference_memory.guard`: raise :class:`RunInChild` when ``network`` runs in graph
    mode and even the costliest measured compile rate would not fit in :data:`SAFE_SHARE` of the available
    memory (not in a child already)."""
    import mindspore as ms

    from mm_train.tasks.inference_memory import GRAPH_BYTES_PER_PARAM, available_bytes

    if in_child() or ms.get_context("mode") != ms.GRAPH_MODE:
        return
    params = sum(p.size for p in network.get_parameters())
    available = available_bytes() if available is None else available
    if GRAPH_BYTES_PER_PARAM * params > SAFE_SHARE * available:
        raise RunInChild(params, available)


def killed_line(what: str, params: int, available: int) -> str:
    return (f"{what}: killed by the kernel (SIGKILL) while running the network in graph mode, most likely out of "
            f"memory ({params / 1e6:.1f} M parameters, {available / 1e9:.1f} GB available); run it again with "
            "device.mode=pynative, which computes the same outputs in far less memory")


def run_child(argv: list[str], what: str, reason: RunInChild) -> int:
    """Run ``mm-train ARGV`` in a child process (output passed through); its exit code, or 1 with
    :func:`killed_line` when the kernel killed it."""
    done = subprocess.run([sys.executable, "-m", "mm_train.commands", *argv], env={**os.environ, CHILD_ENV: "1"},
                          check=False)
    if done.returncode == -signal.SIGKILL:
        print(killed_line(what, reason.params, reason.available), file=sys.stderr, flush=True)
        return 1
    if done.returncode < 0:
        print(f"{what}: the child process running the network died of signal {-done.returncode}",
              file=sys.stderr, flush=True)
        return 1
    return done.returncode
