"""Which shard of a data set this process reads.

``shard_for(split_cfg)`` gives ``(num_shards, shard_id)``:

* ``num_shards`` / ``shard_id`` written in the split (``dataset.train.num_shards: 4``) win;
* else, when ``mindspore.communication`` is initialised (``init()`` under msrun / mpirun),
  the rank and group size: ``get_rank()`` / ``get_group_size()``;
* else the launcher's environment: ``RANK_ID`` with ``RANK_SIZE`` or ``MS_WORKER_NUM`` (msrun),
  ``OMPI_COMM_WORLD_RANK`` / ``OMPI_COMM_WORLD_SIZE`` (mpirun);
* else ``(1, 0)``: one process reads everything.

Example::

    >>> shard_for({"num_shards": 4, "shard_id": 1})
    (4, 1)

Every reader turns ``(num_shards, shard_id)`` into shards that are disjoint, equal in size
and together cover the data: when the size does not divide, MindSpore's samplers (and
TFRecord with ``shard_equal_rows=True``) pad the last shards by repeating samples from the
start of the epoch's order, as PyTorch's ``DistributedSampler`` does: with 10 samples and
3 shards each shard reads 4, and 2 samples are read twice per epoch.
"""
from __future__ import annotations

from typing import Any, Mapping

from mm_train.core import ranks
from mm_train.core.errors import ConfigError

def shard_for(split_cfg: Mapping[str, Any] | None, where: str = "dataset.train",
              automatic: bool = True) -> tuple[int, int]:
    """``(num_shards, shard_id)`` for one split; see the module docstring for the order of sources.

    ``automatic=False`` skips the distributed rank (mm_train's eval split: every rank evaluates
    the whole eval set, so metrics are comparable, unless the recipe shards it explicitly).
    """
    split_cfg = split_cfg or {}
    num, shard = split_cfg.get("num_shards"), split_cfg.get("shard_id")
    if num is None and shard is None:
        found = (ranks.initialised() or ranks.from_environment()) if automatic else None
        if found is None:
            return 1, 0
        num, shard = found.size, found.rank
    elif num is None or shard is None:
        missing = "num_shards" if num is None else "shard_id"
        raise ConfigError(f"{where}.{missing}", "missing",
                          expected="both num_shards and shard_id, or neither (then the distributed rank is used)")
    if not isinstance(num, int) or isinstance(num, bool) or num < 1:
        raise ConfigError(f"{where}.num_shards", f"got {num!r}", expected="a whole number >= 1")
    if not isinstance(shard, int) or isinstance(shard, bool) or not 0 <= shard < num:
        raise ConfigError(f"{where}.shard_id", f"got {shard!r}", expected=f"a whole number from 0 to {num - 1}")
    return num, shard


def sampler_arguments(num_shards: int | None, shard_id: int | None, shuffle: bool,
                      limit: int | None) -> dict[str, Any]:
    """Keyword arguments for a mappable MindSpore dataset (Cifar10Dataset, MindDataset, ImageFolderDataset).

    Without ``limit`` these are MindSpore's own ``shuffle``/``num_shards``/``shard_id``; with it, a
    ``DistributedSampler`` over the first ``limit`` samples (``SequentialSampler`` child), so that
    ``limit`` means the first N samples of the data set, shared out among the shards.
    """
    import mindspore.dataset as ds

    sharded = num_shards is not None and num_shards > 1
    if limit is None:
        if sharded:
            return {"shuffle": shuffle, "num_shards": num_shards, "shard_id": shard_id}
        return {"shuffle": shuffle}
    sampler = ds.DistributedSampler(num_shards or 1, shard_id or 0, shuffle=shuffle)
    sampler.add_child(ds.SequentialSampler(0, int(limit)))
    return {"sampler": sampler}
