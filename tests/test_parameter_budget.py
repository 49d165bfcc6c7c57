"""limits.max_params counts what is built: the estimate every recipe's network is charged with before it
is allocated is within 5 % of its real parameter count (composites counted once, projection shortcuts only
where the stride or the channels change), and the limit takes any whole number up to 1e12."""
from __future__ import annotations

from pathlib import Path

import pytest

from mm_train.core.errors import ConfigError

RECIPES = sorted(p.stem for p in (Path(__file__).resolve().parent.parent / "recipes").glob("*.yaml"))


@pytest.mark.parametrize("recipe", RECIPES)
def test_budget_estimate_is_within_5_percent_of_the_built_network(recipe):
    from mm_train.config.composition import compose_recipe
    from mm_train.jobs import prepare
    from mm_train.nn import budget
    from mm_train.nn.compose import build_layers

    from mm_train.nn.graph import build_graph
    from mm_train.nn.wiring import wiring

    network = prepare(compose_recipe(recipe, []))["network"]
    links = wiring(network["layers"], network.get("output"), "network")
    shape = tuple(network["input_shape"])
    with budget.limit(10**12) as charged:
        if links.is_graph:   # layers that name their inputs (inception_digits)
            cells = {"graph": build_graph(network["layers"], shape, links, "network.layers")[0]}
        else:
            cells, _, _ = build_layers(network["layers"], shape, "network.layers")
    real = sum(p.size for cell in cells.values() for p in cell.get_parameters())
    assert abs(charged.total - real) <= 0.05 * real, (charged.total, real)


def test_nested_sequentials_and_stages_are_counted_once():
    from mm_train.nn import budget
    from mm_train.nn.compose import build_layers

    layers = {"features": {"type": "Sequential", "layers": [
                  {"type": "Sequential", "layers": [{"type": "Conv2d", "out_channels": 8, "kernel_size": 3}]},
                  {"type": "Stage", "block": "BasicBlock", "repeat": 3, "out_channels": 8}]},
              "pool": {"type": "GlobalAvgPool"}, "fc": {"type": "Dense", "out_channels": 4}}
    with budget.limit(10**12) as charged:
        cells, _, _ = build_layers(layers, (3, 8, 8), "network.layers")
    assert charged.total == sum(p.size for c in cells.values() for p in c.get_parameters())


@pytest.mark.parametrize("value", ["3000000000", "1e12", "1000000000000"])
def test_max_params_takes_whole_numbers_up_to_1e12(value):
    from mm_train.jobs import open_job
    from mm_train.nn.budget import max_params

    assert max_params(open_job("quickstart", [f"limits.max_params={value}"]).config) == int(float(value))


@pytest.mark.parametrize("value", ["0", "2.5", "1.5e12", "true"])
def test_max_params_outside_1_to_1e12_is_one_message(value):
    from mm_train.jobs import open_job

    with pytest.raises(ConfigError, match=r"limits\.max_params: got .*expected a whole number from 1 to "
                                          r"1000000000000 \(1e12\)"):
        open_job("quickstart", [f"limits.max_params={value}"])
