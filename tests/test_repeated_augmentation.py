"""Repeated augmentation: shards disjoint and complete per epoch with the repeats, in a real pipeline too."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import training_helpers  # noqa: F401  (claims the CPU)
from mm_train.data.samplers import parse, repeated_order
from mm_train.core.errors import ConfigError


@pytest.mark.parametrize("n,repeats,shards", [(12, 3, 4), (10, 3, 3), (7, 2, 2), (50, 3, 8)])
def test_shards_are_disjoint_and_hold_every_sample_repeats_times(n, repeats, shards):
    for epoch in range(3):
        orders = [repeated_order(n, repeats, shards, s, epoch, seed=5, selected_round=None) for s in range(shards)]
        lengths = {len(o) for o in orders}
        assert lengths == {-(-n * repeats // shards)}                   # equal shards
        counts = Counter(i for order in orders for i in order)
        padding = len(orders) * len(orders[0]) - n * repeats
        assert set(counts) == set(range(n))                             # complete
        assert sum(counts.values()) == n * repeats + padding
        assert sum(c - repeats for c in counts.values()) == padding     # only the padding repeats more
        # disjoint: the positions of the repeated order are dealt out once
        dealt = sorted(p for s in range(shards) for p in range(s, len(orders[0]) * shards, shards))
        assert dealt == list(range(len(orders[0]) * shards))


def test_repeats_of_a_sample_go_to_different_shards_and_epochs_differ():
    orders = [repeated_order(16, 4, 4, s, 0, seed=1, selected_round=None) for s in range(4)]
    for sample in range(16):
        assert sum(sample in order for order in orders) == 4
    assert repeated_order(16, 4, 4, 0, 0, 1, selected_round=None) != repeated_order(16, 4, 4, 0, 1, 1,
                                                                                   selected_round=None)


def test_timm_selected_round_keeps_an_epoch_as_long_as_without_repeats():
    full = repeated_order(1000, 3, 4, 1, 0, seed=2, selected_round=None)
    chosen = repeated_order(1000, 3, 4, 1, 0, seed=2)
    assert len(chosen) == 1000 // 256 * 256 // 4 == 192 and chosen == full[:192]


def test_a_pipeline_with_repeated_aug_reads_its_shard(tmp_path):
    from mm_train.data import build_dataset
    from mm_train.data.synthetic import image_id, write_image_folder, write_mindrecord
    write_image_folder(tmp_path / "images", 12)
    seen = []
    for shard in range(2):
        data = build_dataset({"type": "image_folder", "path": str(tmp_path / "images"), "num_classes": 2, "train": {
            "batch_size": 1, "num_parallel_workers": 1, "num_shards": 2, "shard_id": shard,
            "repeated_aug": {"repeats": 3, "selected_round": None}}}, "train")
        assert data.get_dataset_size() == 18
        seen.append([image_id(row["image"][0]) for row in data.create_dict_iterator(num_epochs=1, output_numpy=True)])
    counts = Counter(image for shard in seen for image in shard)
    assert len(counts) == 12 and set(counts.values()) == {3}
    write_mindrecord(tmp_path / "train.mindrecord", 12)
    with pytest.raises(ConfigError, match="dataset.train.repeated_aug: the mindrecord reader takes no Python sampler"):
        build_dataset({"type": "mindrecord", "columns": {"image": "image", "label": "label"}, "num_classes": 2,
                       "train": {"path": str(tmp_path / "train.mindrecord"), "repeated_aug": 3}}, "train")


def test_repeated_aug_spec_errors():
    with pytest.raises(ConfigError, match=r"dataset.train.repeated_aug.repeats: got 0"):
        parse({"repeats": 0}, "dataset.train.repeated_aug")
    with pytest.raises(ConfigError, match=r"dataset.train.repeated_aug: got 'x'"):
        parse("x", "dataset.train.repeated_aug")
