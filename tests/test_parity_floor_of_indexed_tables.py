"""The float32 floor parity measures on a converted network (``self_floor``) moves values, never indices: a
relative-position bias table picked by a constant index (torch's legacy exporter, Swin / MaxViT) gets the same
floor as the same network with the lookup folded into a constant (torch's dynamo exporter)."""
from __future__ import annotations

import numpy as np

import onnx_graphs as g
import onnx_exporter_graphs as wg
import training_helpers  # noqa: F401  (claims the CPU device before any kernel runs)


def converted(tmp_path, folded_table: bool):
    """``mm-train migrate onnx`` of the window classifier: (its parity with onnxruntime, the network)."""
    from mm_train.commands.migrate import convert
    folder = tmp_path / ("folded" if folded_table else "indexed")
    folder.mkdir()
    result, network = convert(g.save(wg.window_classifier(folded_table=folded_table), folder), "net",
                              verbose_print=lambda *a, **k: None)
    assert result.parity is not None and result.parity.passed, result.parity.text()
    kinds = [layer["type"] for layer in result.recipe["network"]["layers"].values()]
    assert ("Indexed" in kinds) != folded_table
    return result.parity, network


def test_an_indexed_table_gets_the_floor_of_the_same_network_with_the_lookup_folded(tmp_path):
    from mm_train.migrate.parity import self_floor
    indexed, indexed_network = converted(tmp_path, folded_table=False)
    folded, folded_network = converted(tmp_path, folded_table=True)
    x = np.random.default_rng(1).standard_normal((4, 3, 4, 4)).astype(np.float32)
    measured = self_floor(indexed_network, x), self_floor(folded_network, x)
    # nudging the index by one rounding picked neighbouring table entries: a floor ~1e5 x the folded one
    assert 0.25 <= measured[0] / measured[1] <= 4, measured
    assert indexed.bound <= 2 * folded.bound, (indexed.text(), folded.text())   # what migrate onnx prints


def test_the_floor_leaves_the_index_exact_and_still_moves_the_table(tmp_path):
    from mm_train.migrate.parity import rounded_parameters, self_floor
    _, network = converted(tmp_path, folded_table=False)
    nudged = {p.name for p in rounded_parameters(network)}
    index = [p for p in network.get_parameters() if p.name.endswith("_indexed.index")]
    assert len(index) == 1 and index[0].name not in nudged
    assert f"{wg.ATTN}.relative_position_bias_table" in nudged and "head.weight" in nudged
    before = index[0].asnumpy().copy()
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 4)).astype(np.float32)
    assert self_floor(network, x) > 0
    np.testing.assert_array_equal(index[0].asnumpy(), before)
