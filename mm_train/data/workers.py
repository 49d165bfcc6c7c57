"""``num_parallel_workers: auto`` (the default of every split): the cores this process may use, at most 8.

MindSpore's own default is 8 threads per operation whatever the machine; mm_train's was 1.
On 2 cores, decoding and cropping 224x224 JPEGs runs ~1.6-1.9x faster with 2 workers than
with 1 (bench/jpeg_memory.py). Random augmentations draw differently with another worker
count (same seed, same count: the same images), so the resolved number is recorded in
run_info.json (``data_workers``); set a number in the recipe for results that do not
depend on the machine.

A number above this machine's cores (a recipe from a GPU server says 8 or 16) runs with the
cores, after one note, where MindSpore itself would refuse it; ``recipes validate`` accepts it too.
"""
from __future__ import annotations

import os

MAX_WORKERS = 8


def auto_workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):   # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):   # not Linux
        return os.cpu_count() or 1


_noted: set[int] = set()


def resolve_workers(value):
    """``auto`` -> :func:`auto_workers`; a whole number above the cores -> the cores (with one note)."""
    if value == "auto":
        return auto_workers()
    cores = available_cores()
    if isinstance(value, int) and not isinstance(value, bool) and value > cores:
        if value not in _noted:
            _noted.add(value)
            print(f"note: num_parallel_workers {value} is more than the {cores} cores here; using {cores}",
                  flush=True)
        return cores
    return value
