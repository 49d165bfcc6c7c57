"""Parity, eval and predict switch an attention network to PyNative, with one line, when graph mode's
compile is estimated above the memory available (vit_b_16: 18.5 GB in graph mode, 1.44 GB in PyNative)."""
from __future__ import annotations

import pytest


@pytest.fixture
def graph_mode():
    import mindspore as ms

    mode = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    yield
    ms.set_context(mode=mode)


def network(recipe):
    from mm_train.config.composition import compose_recipe
    from mm_train.jobs import prepare
    from mm_train.nn.builder import build_network

    return build_network(prepare(compose_recipe(recipe, []))["network"])[0]


def test_attention_network_above_the_available_memory_runs_in_pynative_with_one_line(graph_mode, capsys):
    import mindspore as ms

    from mm_train.tasks.inference_memory import guard

    vit = network("vit_digits")
    assert guard(vit, "parity", available=10**12) is None and ms.get_context("mode") == ms.GRAPH_MODE
    line = guard(vit, "parity", available=10**6)
    assert ms.get_context("mode") == ms.PYNATIVE_MODE
    assert line.startswith("parity: device.mode=pynative: graph mode would compile this attention network")
    assert capsys.readouterr().err.strip() == line


def test_convolutional_network_keeps_graph_mode(graph_mode):
    import mindspore as ms

    from mm_train.tasks.inference_memory import guard

    assert guard(network("quickstart"), "task=eval", available=1) is None
    assert ms.get_context("mode") == ms.GRAPH_MODE
