"""Settings applied after the parts are built and before anything is compiled, recorded in run_info.json.

- the graph compile cache (:mod:`mm_train.compile_cache`, ``device.compile_cache``);
- the data pipeline's worker counts as resolved (``num_parallel_workers: auto``, :mod:`mm_train.data.workers`);
- how each split's pipeline was built (``data_pipeline``: the Decode fusion of :mod:`mm_train.data.decode_fusion`);

    with run_settings(config, parts, run_dir, recipe, rank):   # the compile cache lasts as long as the job
        fit(...)
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Mapping

from mm_train import compile_cache
from mm_train.runfiles import write_json


def data_workers(dataset: Mapping[str, Any]) -> dict[str, Any]:
    from mm_train.data import split_settings
    out = {}
    for split in ("train", "eval"):
        try:
            out[split] = split_settings(dataset, split)["num_parallel_workers"]
        except Exception:  # noqa: BLE001 - a record only; build_parts has checked the settings
            out[split] = None
    return out


@contextmanager
def run_settings(config: Mapping[str, Any], parts, run_dir: Path, recipe: str, rank):
    """:func:`apply_run_settings` for the ``with`` block only (MindSpore's compile-cache variables restored)."""
    with compile_cache.scoped():
        yield apply_run_settings(config, parts, run_dir, recipe, rank)


def apply_run_settings(config: Mapping[str, Any], parts, run_dir: Path, recipe: str, rank) -> dict[str, Any]:
    eval_batches = parts.eval_data.get_dataset_size() if parts.eval_data is not None else None
    settings = {"compile_cache": compile_cache.enable(config, parts.steps_per_epoch, eval_batches, recipe,
                                                      getattr(rank, "rank", 0)),
                "data_workers": data_workers(config.get("dataset") or {}),
                "data_pipeline": {name: getattr(data, "pipeline_record", None)
                                  for name, data in (("train", parts.train_data), ("eval", parts.eval_data))}}
    if getattr(rank, "is_main", True):
        info_path = Path(run_dir) / "run_info.json"
        info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        write_json(info_path, {**info, **settings})
    return settings
