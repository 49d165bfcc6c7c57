"""``num_parallel_workers: auto`` (the default of every split): the cores this process may use, at most 8.

MindSpore's own default is 8 threads per operation whatever the machine; mm_train's was 1.
On 2 cores, decoding and cropping 224x224 JPEGs runs ~1.6-1.9x faster with 2 workers than
with 1 (bench/jpeg_memory.py). Random augmentations draw differently with another worker
count (same seed, same count: the same images), so the resolved number is recorded in
run_info.json (``data_workers``); set a number in the recipe for results that do not
depend on the machine.
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


def resolve_workers(value):
    return auto_workers() if value == "auto" else value
