"""The device a run trains on: environment set before MindSpore loads, then the context.

``set_environment`` must run before the first ``import mindspore``: oneDNN
reads ``ONEDNN_MAX_CPU_ISA`` when the library loads, and MindSpore reads
``GLOG_v`` at import. It is the one place that sets them: a run passes its
``device`` section, every other entry point (``mm-train`` commands, tests)
calls it without one to get the defaults. ``configure`` then checks the target
against this build and sets the device and execution mode.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Any, Mapping

from mm_train.core.errors import ConfigError, closest

log = logging.getLogger(__name__)
TARGETS = ("CPU", "GPU", "Ascend")
MODES = ("graph", "pynative")


# Without a device section: AVX2 (CPU convolutions 15-30x faster on an AVX-512 CPU, bench/cpu_isa.py);
# MindSpore's C++ log at ERROR. A variable the user set wins.
DEFAULTS = {"ONEDNN_MAX_CPU_ISA": "AVX2", "GLOG_v": "3"}


def set_environment(device: Mapping[str, Any] | None = None) -> None:
    """Set the environment variables MindSpore and oneDNN read when they load.

    With ``device`` (a run's ``device`` section) its ``onednn_max_cpu_isa`` and ``log_level``
    are set (null leaves a variable alone); without, :data:`DEFAULTS` where a variable is unset.
    """
    if device is None:
        for var, value in DEFAULTS.items():
            os.environ.setdefault(var, value)
        return
    wanted = {"ONEDNN_MAX_CPU_ISA": device.get("onednn_max_cpu_isa"),
              "GLOG_v": device.get("log_level")}
    for var, value in wanted.items():
        if value is None:
            continue
        value = str(value)
        if "mindspore" in sys.modules and os.environ.get(var) != value:
            log.warning("%s=%s comes too late: MindSpore is already imported in this process "
                        "and keeps %s", var, value, os.environ.get(var))
        os.environ[var] = value


def available_targets() -> list[str]:
    import mindspore as ms
    return [t for t in TARGETS if t == "CPU" or ms.hal.is_available(t)]


def check_target(device: Mapping[str, Any]) -> None:
    """Raise ConfigError unless this MindSpore build can run on ``device.target`` (sets nothing)."""
    import mindspore as ms

    target, mode = device.get("target"), str(device.get("mode", "graph")).lower()
    if target not in TARGETS:
        raise ConfigError("device.target", f"unknown device target '{target}'",
                          expected=f"one of {list(TARGETS)}", suggestions=closest(str(target), TARGETS))
    if mode not in MODES:
        raise ConfigError("device.mode", f"unknown mode '{mode}'", expected=f"one of {list(MODES)}",
                          suggestions=closest(mode, MODES))
    if target != "CPU" and not ms.hal.is_available(target):
        have = available_targets()
        raise ConfigError("device", f"this MindSpore build cannot run on {target}",
                          expected="a target this build has: " + ", ".join(have)
                          + f" (device={have[0].lower()}), or a MindSpore build with {target} support")


def configure(device: Mapping[str, Any]) -> None:
    """Check ``device.target`` against this MindSpore build and set device and mode."""
    check_target(device)
    import mindspore as ms
    target, mode = device.get("target"), str(device.get("mode", "graph")).lower()
    ms.set_device(target, int(device.get("device_id", 0)))
    ms.set_context(mode=ms.GRAPH_MODE if mode == "graph" else ms.PYNATIVE_MODE)
