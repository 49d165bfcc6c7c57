"""Every reader, 2 and 3 shards: in each of two epochs the shards are equal in size, together
cover the data set, and overlap only by the padding MindSpore adds when the size does not divide."""
from __future__ import annotations

import math
from collections import Counter

import pytest

from mm_train.core import ranks
from mm_train.data.synthetic import image_id, tiny_images, write_image_folder, write_mindrecord, write_tfrecord

N = 10   # divides by 2, not by 3


@pytest.fixture(scope="module")
def sources(tmp_path_factory, cifar_dir):
    d = tmp_path_factory.mktemp("shards")
    write_image_folder(d / "folder", N)
    write_mindrecord(d / "tiny.mindrecord", N, shards=2)
    write_tfrecord(d / "tiny.tfrecord", N, shards=2)
    return {
        "image_folder": ({"type": "image_folder", "path": str(d / "folder")}, N),
        "mindrecord": ({"type": "mindrecord", "path": str(d / "tiny.mindrecord0")}, N),
        "tfrecord": ({"type": "tfrecord", "path": str(d / "tiny.tfrecord-*"),
                      "features": {"image": {"type": "bytes"}, "label": {"type": "int64"}}}, N),
        "cifar10": ({"type": "cifar10", "path": str(cifar_dir), "usage": "test"}, 10_000),
    }


def epochs_of_shard(cfg, num_shards, shard_id, limit=None, epochs=2):
    import mindspore.dataset as ds
    from mm_train.data import build_dataset
    ds.config.set_seed(7)   # every process of a job shares the seed
    split = {"batch_size": 1, "drop_remainder": False, "shuffle": True, "num_shards": num_shards,
             "shard_id": shard_id, "limit": limit}
    it = build_dataset({**cfg, "train": split}, "train").create_dict_iterator(output_numpy=True, num_epochs=epochs)
    return [[image_id(row["image"][0]) for row in it] for _ in range(epochs)]


def check_epoch(shards, n, everything=None):
    per_shard = math.ceil(n / len(shards))
    assert [len(s) for s in shards] == [per_shard] * len(shards)          # equal
    counts = Counter(i for s in shards for i in s)
    assert len(counts) == n                                               # complete
    if everything is not None:
        assert set(counts) == everything
    assert sum(counts.values()) - n == per_shard * len(shards) - n        # disjoint but for the padding
    assert max(counts.values()) <= 2
    if n % len(shards) == 0:
        assert max(counts.values()) == 1
    for s in shards:
        assert len(set(s)) == len(s)                                      # no sample twice within a shard


@pytest.mark.parametrize("reader", ["image_folder", "mindrecord", "tfrecord", "cifar10"])
@pytest.mark.parametrize("num_shards", [2, 3])
def test_shards_are_equal_disjoint_and_complete_in_two_epochs(sources, reader, num_shards):
    cfg, n = sources[reader]
    runs = [epochs_of_shard(cfg, num_shards, s) for s in range(num_shards)]
    everything = {image_id(x) for x in tiny_images(N)[0]} if n == N else None
    for epoch in range(2):
        check_epoch([run[epoch] for run in runs], n, everything)
    if reader != "tfrecord":   # samplers reshuffle across shards each epoch; TFRecord keeps its row ranges
        assert [set(r[0]) for r in runs] != [set(r[1]) for r in runs]


@pytest.mark.parametrize("reader", ["image_folder", "mindrecord", "tfrecord"])
def test_limit_takes_a_fixed_subset_shared_among_shards(sources, reader):
    cfg, _ = sources[reader]
    runs = [epochs_of_shard(cfg, 2, s, limit=6) for s in range(2)]
    for epoch in range(2):
        check_epoch([run[epoch] for run in runs], 6)
    assert {i for r in runs for i in r[0]} == {i for r in runs for i in r[1]}


def test_shard_for_explicit_values_and_the_distributed_rank(monkeypatch):
    from mm_train.data import sharding
    from mm_train.core.errors import ConfigError
    for var in ("RANK_ID", "RANK_SIZE", "MS_WORKER_NUM", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    assert sharding.shard_for({}) == (1, 0)
    assert sharding.shard_for({"num_shards": 4, "shard_id": 3}) == (4, 3)
    monkeypatch.setenv("RANK_ID", "1")
    monkeypatch.setenv("MS_WORKER_NUM", "2")          # msrun's variables
    assert sharding.shard_for({}) == (2, 1)
    assert sharding.shard_for({"num_shards": 1, "shard_id": 0}) == (1, 0)   # explicit wins
    monkeypatch.setattr(ranks, "initialised", lambda: ranks.Rank(5, 8))     # after mindspore.communication.init()
    assert sharding.shard_for(None) == (8, 5)
    with pytest.raises(ConfigError, match=r"dataset.train.shard_id: got 4 \(expected a whole number from 0 to 3\)"):
        sharding.shard_for({"num_shards": 4, "shard_id": 4})
    with pytest.raises(ConfigError, match=r"dataset.eval.shard_id: missing"):
        sharding.shard_for({"num_shards": 4}, "dataset.eval")


def test_communication_rank_reads_mindspore_communication(monkeypatch):
    from mindspore.communication import management
    from mm_train.data import sharding
    assert ranks.initialised() is None                                     # not initialised in tests
    monkeypatch.setattr(management.GlobalComm, "INITED", True)
    monkeypatch.setattr(management, "get_rank", lambda group=None: 3)
    monkeypatch.setattr(management, "get_group_size", lambda group=None: 4)
    assert (ranks.initialised().size, ranks.initialised().rank) == (4, 3)
    assert sharding.shard_for({}) == (4, 3)


def test_distributed_rank_shards_train_but_not_eval(sources, monkeypatch):
    from mm_train.data import build_dataset
    monkeypatch.setattr(ranks, "initialised", lambda: ranks.Rank(1, 2))
    cfg, _ = sources["mindrecord"]
    split = {"batch_size": 1, "drop_remainder": False}
    assert build_dataset({**cfg, "train": split}, "train").get_dataset_size() == N // 2
    assert build_dataset({**cfg, "eval": split}, "eval").get_dataset_size() == N
    explicit = {**cfg, "eval": {**split, "num_shards": 2, "shard_id": 0}}
    assert build_dataset(explicit, "eval").get_dataset_size() == N // 2
