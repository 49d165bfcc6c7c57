"""Inference (``mm-train parity``, ``task=eval``, ``task=predict``) never dies silently of memory.

MindSpore's graph mode compiles a transformer at a cost far above its weights: ``mm-train parity`` of
vit_b_16_torchvision on 2 images peaked at 18.5 GB in graph mode and 1.44 GB in PyNative, and ViT-L/16
and ViT-H/14 were killed by the kernel while compiling. Before such a network runs in graph mode,
:func:`guard` estimates the compile (:data:`GRAPH_BYTES_PER_PARAM` x its parameters, measured on
vit_b_16) and, above :data:`SHARE` of the memory available, switches to PyNative, which computes the same
outputs, and says so in one line::

    parity: device.mode=pynative: graph mode would compile this attention network (86.6 M parameters) at
    about 18.6 GB, more than 80 % of the 12.1 GB available; PyNative computes the same outputs
"""
from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)

GRAPH_BYTES_PER_PARAM = 215       # vit_b_16: 18.5 GB peak for 86.6 M parameters (parity, graph mode, 2 images)
SHARE = 0.8                       # of the memory available when the job starts


def has_attention(network) -> bool:
    return any("Attention" in type(cell).__name__ for _, cell in network.cells_and_names())


def graph_estimate(network) -> int | None:
    """Bytes graph mode is estimated to take to compile ``network`` for inference; None when it is not a
    network known to be costly (no attention cells)."""
    if not has_attention(network):
        return None
    return GRAPH_BYTES_PER_PARAM * sum(p.size for p in network.get_parameters())


def available_bytes() -> int:
    import psutil
    return int(psutil.virtual_memory().available)


def guard(network, what: str, available: int | None = None) -> str | None:
    """In graph mode, switch to PyNative when compiling ``network`` would take more than :data:`SHARE` of the
    available memory; return (and print) the line that says so, None when nothing changed."""
    import mindspore as ms

    if ms.get_context("mode") != ms.GRAPH_MODE:
        return None
    need = graph_estimate(network)
    available = available_bytes() if available is None else available
    if need is None or need <= SHARE * available:
        return None
    ms.set_context(mode=ms.PYNATIVE_MODE)
    params = sum(p.size for p in network.get_parameters())
    line = (f"{what}: device.mode=pynative: graph mode would compile this attention network ({params / 1e6:.1f} M "
            f"parameters) at about {need / 1e9:.1f} GB, more than {SHARE:.0%} of the {available / 1e9:.1f} GB "
            "available; PyNative computes the same outputs")
    print(line, file=sys.stderr, flush=True)
    return line
