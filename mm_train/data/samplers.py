"""Repeated augmentation (Hoffer et al. 2020; DeiT, timm's ``RepeatAugSampler``, torchvision's ``RASampler``).

    dataset:
      train: {repeated_aug: 3}                                   # = {repeats: 3, selected_round: 256}
      train: {repeated_aug: {repeats: 3, selected_round: null}}  # every repeat of every sample, each epoch

Each epoch the (shuffled) order is repeated sample by sample (``a a a b b b ...``), padded from its
start to a multiple of the number of shards, and dealt out round-robin, so the repeats of one
sample land on different shards (each with its own random augmentation): the shards are disjoint
and together hold every sample ``repeats`` times. As in timm, each shard then reads only the first
``floor(N // selected_round * selected_round / shards)`` of its samples (an epoch as long as one
without repeats); ``selected_round: null`` reads them all (``repeats`` x longer epochs).
The order is seeded by the run's seed and the epoch.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Optional

import numpy as np
import mindspore.dataset as ds

from mm_train.core.errors import ConfigError


def repeated_order(n: int, repeats: int, num_shards: int, shard_id: int, epoch: int, seed: int, shuffle: bool = True,
                   selected_round: Optional[int] = 256) -> list[int]:
    """The sample indices shard ``shard_id`` reads in ``epoch``."""
    order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)
    repeated = np.repeat(order, repeats)
    total = math.ceil(n * repeats / num_shards) * num_shards
    repeated = np.concatenate([repeated, repeated[:total - len(repeated)]])
    mine = repeated[shard_id:total:num_shards]
    if selected_round:
        selected = int(n // selected_round * selected_round / num_shards) or math.ceil(n / num_shards)
        mine = mine[:selected]
    return [int(i) for i in mine]


def parse(spec: Any, where: str) -> dict[str, Any]:
    """``3`` or ``{repeats: 3, selected_round: 256 | null}``."""
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = {"repeats": spec}
    if not isinstance(spec, Mapping) or set(spec) - {"repeats", "selected_round"}:
        raise ConfigError(where, f"got {spec!r}", expected="a whole number >= 1 (the repeats) or "
                                                          "{repeats: N, selected_round: 256 or null}")
    repeats, rounding = spec.get("repeats", 3), spec.get("selected_round", 256)
    if not isinstance(repeats, int) or isinstance(repeats, bool) or repeats < 1:
        raise ConfigError(f"{where}.repeats", f"got {repeats!r}", expected="a whole number >= 1")
    if rounding is not None and (not isinstance(rounding, int) or isinstance(rounding, bool) or rounding < 1):
        raise ConfigError(f"{where}.selected_round", f"got {rounding!r}", expected="a whole number >= 1, or null")
    return {"repeats": repeats, "selected_round": rounding}


class RepeatedAugSampler(ds.Sampler):
    """A MindSpore sampler over :func:`repeated_order`, a new order each epoch."""

    def __init__(self, repeats: int, num_shards: int, shard_id: int, shuffle: bool, selected_round: Optional[int],
                 limit: Optional[int] = None):
        super().__init__()
        self.repeats, self.num_shards, self.shard_id = repeats, num_shards, shard_id
        self.shuffle, self.selected_round, self.limit = shuffle, selected_round, limit
        self.seed, self.epoch = ds.config.get_seed(), 0

    def __iter__(self):
        n = self.dataset_size if self.limit is None else min(self.limit, self.dataset_size)
        order = repeated_order(n, self.repeats, self.num_shards, self.shard_id, self.epoch, self.seed, self.shuffle,
                               self.selected_round)
        self.epoch += 1
        return iter(order)
