"""Data-parallel training on MindSpore's own engine, launched by msrun or mpirun.

When the process was started by a launcher (msrun sets ``MS_ROLE``/``MS_WORKER_NUM``/``RANK_ID``,
mpirun ``OMPI_COMM_WORLD_SIZE``), :func:`configure` sets the device (``device_id`` = the local
rank on GPU/Ascend), calls ``mindspore.communication.init()`` and sets
``DATA_PARALLEL`` with ``gradients_mean=True``: MindSpore all-reduces and averages the
gradients. The train split is sharded by rank (:mod:`mm_train.data.sharding`); every rank
starts from the same seed, and :func:`check_in_sync` compares a digest of every trainable
parameter across ranks (before training: an error; after: ``distributed.json``).

Only rank 0 writes to the run directory (config, checkpoints, metrics, event files); each
rank logs to ``rank_N.log`` there (conf/config.yaml). Example::

    msrun --worker_num=2 --local_worker_num=2 --master_port=8118 --join=True \\
        run.py +recipe=quickstart hydra.run.dir=outputs/dp2
    mm-train launch --nproc 2 -- +recipe=quickstart          # the same, via mm_train.app.launch
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from mm_train.core import device
from mm_train.core import ranks
from mm_train.core.errors import ConfigError
from mm_train.core.ranks import SINGLE, Rank
from mm_train.registry import CALLBACKS
from mm_train.run_dir.files import write_json

log = logging.getLogger(__name__)

def device_for(device_cfg: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The device section with ``device_id`` = the local rank on GPU and Ascend (one device per worker).

    >>> device_for({"target": "GPU", "device_id": 0}, {"DEVICE_ID": "3"})["device_id"]
    3
    """
    if device_cfg.get("target") in ("GPU", "Ascend"):
        return {**device_cfg, "device_id": ranks.local_rank(environ)}
    return dict(device_cfg)


def placed_device(device_cfg: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The device section this process runs on: under a launcher :func:`device_for`, else as written."""
    return device_for(device_cfg, environ) if ranks.launched(environ) else dict(device_cfg)


def configure(config: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> Rank:
    """Set the device (:func:`placed_device`) and, under a launcher, join the job; return this process's
    :class:`Rank`. ``config`` is not changed: the job keeps the placed device (:func:`mm_train.jobs.start`).
    """
    device.configure(placed_device(config["device"], environ))
    if not ranks.launched(environ):
        return SINGLE

    from mindspore import ParallelMode, set_auto_parallel_context
    from mindspore.communication import get_group_size, get_rank, init

    try:
        if ranks.initialised() is None:   # a second job in the same process (Hydra -m) is already in
            init()
    except RuntimeError as err:
        raise ConfigError("device", "cannot join the distributed job: " + str(err).split("\n")[0],
                          expected="every worker started by the same msrun/mpirun, the scheduler reachable "
                                   "(msrun --master_addr/--master_port)") from None
    rank = Rank(get_rank(), get_group_size(), ranks.local_rank(environ))
    set_auto_parallel_context(parallel_mode=ParallelMode.DATA_PARALLEL, gradients_mean=True,
                              device_num=rank.size)
    check_shards(config.get("dataset") or {}, rank)
    log.info("rank %d/%d (pid %d, local rank %d): data parallel, gradients averaged over %d devices",
             rank.rank, rank.size, os.getpid(), rank.local_rank, rank.size)
    return rank


def check_shards(dataset: Mapping[str, Any], rank: Rank) -> None:
    """Warn when a split's explicit ``num_shards``/``shard_id`` disagree with the launch (they still win)."""
    for split in ("train", "eval"):
        spec = dataset.get(split) or {}
        num, shard = spec.get("num_shards"), spec.get("shard_id")
        if num is None and shard is None:
            continue
        if (num, shard) != (rank.size, rank.rank):
            log.warning("dataset.%s.num_shards=%s / shard_id=%s disagree with the launch (rank %d of %d): "
                        "the recipe's values win, so ranks may read overlapping or missing data",
                        split, num, shard, rank.rank, rank.size)


def scale_lr(lr, config: Mapping[str, Any], rank: Rank):
    """The learning-rate schedule times the number of devices when ``train.scale_lr_by_devices: true``.

    With N devices each step sees N times the samples; the linear scaling rule keeps the
    per-sample step size (Goyal et al. 2017). Off by default.
    """
    if not (config.get("train") or {}).get("scale_lr_by_devices", False):
        return lr
    size = rank.size
    if size > 1:
        log.info("learning rate scaled by %d devices (train.scale_lr_by_devices)", size)
    return lr * size


def callbacks_for(specs: Sequence[Mapping[str, Any]], rank: Rank) -> list[Mapping[str, Any]]:
    """The recipe's callbacks this rank runs: all on rank 0, elsewhere only those registered with
    ``every_rank=True`` (monitors that print to the rank's own log)."""
    if rank.is_main:
        return list(specs)
    return [spec for spec in specs if spec.get("type") in CALLBACKS and CALLBACKS.meta(spec["type"]).get("every_rank")]


# -- keeping the ranks in step -------------------------------------------------------------

def parameter_digests(network) -> tuple[list[str], list[bytes]]:
    """Names and 8-byte SHA-256 digests of the trainable parameters' values (bit-exact)."""
    names, digests = [], []
    for param in network.trainable_params():
        value = param.asnumpy()
        names.append(param.name)
        digests.append(hashlib.sha256(value.tobytes() + str(value.dtype).encode()).digest()[:8])
    return names, digests


def mismatched(names: Sequence[str], per_rank: Sequence[Sequence[bytes]]) -> list[str]:
    """Names of the parameters whose digest is not the same on every rank.

    >>> mismatched(["w", "b"], [[b"1", b"2"], [b"1", b"3"]])
    ['b']
    """
    return [name for i, name in enumerate(names) if len({digests[i] for digests in per_rank}) > 1]


def all_gather_digests(digests: Sequence[bytes], rank: Rank) -> list[list[bytes]]:
    """Every rank's digests (``AllGather`` over the world group), in rank order."""
    import mindspore as ms
    import numpy as np
    from mindspore import ops

    mine = np.frombuffer(b"".join(digests), dtype=np.int32).reshape(len(digests), 2)
    gathered = ops.AllGather()(ms.Tensor(mine)).asnumpy().reshape(rank.size, len(digests), 2)
    return [[row.tobytes() for row in block] for block in gathered]


def check_in_sync(network, rank: Rank, when: str) -> dict[str, Any]:
    """Compare every trainable parameter across ranks; the report that ``distributed.json`` keeps."""
    names, digests = parameter_digests(network)
    per_rank = all_gather_digests(digests, rank)
    bad = mismatched(names, per_rank)
    report = {"when": when, "in_sync": not bad, "parameters": len(names), "mismatched": bad,
              "digests": [hashlib.sha256(b"".join(d)).hexdigest()[:16] for d in per_rank]}
    if bad:
        log.error("rank %d: %d of %d trainable parameters differ across ranks %s: %s", rank.rank, len(bad),
                  len(names), when, ", ".join(bad[:5]) + (" ..." if len(bad) > 5 else ""))
    else:
        log.info("rank %d: all %d trainable parameters are identical on the %d ranks %s",
                 rank.rank, len(names), rank.size, when)
    return report


def check_initial_weights(network, rank: Rank) -> dict[str, Any]:
    """Before training: every rank must start from the same weights (same seed and init_from)."""
    report = check_in_sync(network, rank, "before training")
    if not report["in_sync"]:
        raise ConfigError("seed", "the ranks start from different weights: "
                          + ", ".join(report["mismatched"][:5]),
                          expected="the same seed and init_from on every rank (do not set them per rank)")
    return report


def write_report(run_dir: Path, rank: Rank, shards: Sequence[Sequence[int]], reports: Sequence[Mapping]) -> Path:
    """``distributed.json``: world size, each rank's train shard and the sync checks (rank 0 writes it)."""
    path = Path(run_dir) / "distributed.json"
    write_json(path, {"world_size": rank.size,
                      "ranks": [{"rank": r, "train_shard": {"num_shards": s[0], "shard_id": s[1],
                                                            "batches_per_epoch": s[2]}}
                                for r, s in enumerate(shards)],
                      "checks": list(reports),
                      "in_sync": all(r["in_sync"] for r in reports)})
    return path


def gather_shards(train_cfg: Mapping[str, Any] | None, batches: int, rank: Rank,
                  run_dir: Path) -> list[list[int]]:
    """``[num_shards, shard_id, batches_per_epoch]`` of the train split on every rank (logged per rank);
    warns when the ranks' run directories differ (raw msrun without ``hydra.run.dir``)."""
    import zlib

    import mindspore as ms
    import numpy as np
    from mindspore import ops

    from mm_train.data.sharding import shard_for
    num, shard = shard_for(train_cfg, "dataset.train")
    log.info("rank %d/%d: train shard %d of %d, %d batches per epoch", rank.rank, rank.size, shard, num, batches)
    where = np.int32(np.uint32(zlib.crc32(str(Path(run_dir).resolve()).encode())).view(np.int32))
    mine = ms.Tensor(np.array([[num, shard, batches, where]], dtype=np.int32))
    rows = ops.AllGather()(mine).asnumpy().tolist()
    if rank.is_main and len({row[3] for row in rows}) > 1:
        log.warning("the ranks write to different run directories (Hydra's default has a timestamp): pass "
                    "hydra.run.dir=DIR (or set MM_TRAIN_RUN_DIR) on every rank, or use mm-train launch")
    return [row[:3] for row in rows]


class Session:
    """What the runner does around training on one rank: checks before, ``distributed.json`` after.

        session = Session(rank, run_dir)
        session.start(network, config["dataset"].get("train"), steps_per_epoch)
        ... train ...
        session.finish(network)
    """

    def __init__(self, rank: Rank, run_dir: Path):
        self.rank, self.run_dir = rank, Path(run_dir)
        self.shards: list[list[int]] = []
        self.reports: list[dict[str, Any]] = []

    def start(self, network, train_cfg: Mapping[str, Any] | None, batches: int) -> None:
        if not self.rank.distributed:
            return
        self.shards = gather_shards(train_cfg, batches, self.rank, self.run_dir)
        self.reports.append(check_initial_weights(network, self.rank))

    def finish(self, network) -> None:
        if not self.rank.distributed:
            return
        self.reports.append(check_in_sync(network, self.rank, "after training"))
        if self.rank.is_main:
            write_report(self.run_dir, self.rank, self.shards, self.reports)
