"""Property: a mutated recipe (keys dropped, renamed, retyped) either builds or gives the clear
error (ConfigError) — never another exception, which run.py would show as a traceback."""
import copy
import functools
import random

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import time_bound
from mm_train.config.schema import walk
from mm_train.config.composition import compose_recipe
from mm_train.core.errors import ConfigError
from mm_train.assembly.parts import build_parts
from mm_train.jobs import prepare, resolve
from mm_train.config.recipes import BUILTIN_DIR

BASE = resolve(compose_recipe("quickstart"))
PATHS = [path for path, _, _ in walk(BASE)]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 300), st.floats(-1e3, 1e3, allow_nan=False),
                   st.text(max_size=12), st.lists(st.integers(0, 64), max_size=4),
                   st.dictionaries(st.sampled_from(["type", "size", "x"]), st.integers(0, 9), max_size=2))


def _parent_and_key(config, path):
    """The container holding ``path`` and the key in it."""
    node, key = config, None
    parts = path.replace("[", ".[").split(".")
    for i, part in enumerate(parts):
        key = int(part[1:-1]) if part.startswith("[") else part
        if i < len(parts) - 1:
            node = node[key]
    return node, key


def mutate(config, path, kind, value, suffix):
    config = copy.deepcopy(config)
    parent, key = _parent_and_key(config, path)
    if kind == "drop":
        del parent[key]
    elif kind == "rename" and isinstance(parent, dict):
        parent[f"{key}{suffix}"] = parent.pop(key)
    else:
        parent[key] = value
    return config


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), kind=st.sampled_from(["drop", "rename", "retype"]), value=VALUES,
       suffix=st.sampled_from(["s", "_", "x"]))
def test_mutated_recipe_builds_or_gives_the_clear_error(path, kind, value, suffix):
    config = mutate(BASE, path, kind, value, suffix)
    try:
        prepared = prepare(config)
        build_parts(prepared, "train")
    except ConfigError as err:
        assert str(err)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(path=st.sampled_from(PATHS), value=st.sampled_from(["1", "abc", "null", "[1,2]", "{a: 1}", "-5", "0.5"]),
       suffix=st.sampled_from(["", "s", "_"]))
def test_mutated_command_line_composes_or_gives_the_clear_error(path, value, suffix):
    if "[" in path:
        return
    try:
        config = prepare(compose_recipe("quickstart", [f"{path}{suffix}={value}"]))
        build_parts(config, "train", open_data=False)
    except ConfigError as err:
        assert str(err)


# -- hostile and absurd values, across every built-in recipe -----------------------------
# Each class is applied to every built-in recipe through ``recipes validate``'s path (compose, prepare,
# build without opening data), in-process; a small sample also runs ``debug=fast``. A hostile value must
# give a ConfigError (never another exception, never accepted), within a time bound.

BUILTIN = sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))
HUGE = ["9223372036854775808", "2147483648", "1e30", "-1", "0", "nan", "abc", "'NaN'", "{value: 2}", "[1, {a: 1}]"]
OVERRIDES = {   # key -> values that must be refused
    "network.input_shape": ["[3, 100000, 100000]", "[0]", "abc"],
    "dataset.train.batch_size": ["9223372036854775808", "0", "abc", "{value: 2}"],
    "+dataset.train.num_parallel_workers": ["0", "-2", "abc", "'NaN'", "{value: 2}", "9223372036854775808"],
    "train.epochs": ["0", "abc", "9223372036854775808"],
    "seed": ["-1", "abc", "{value: 2}"],
    "limits.max_params": ["0", "abc"],
    "overwrite": ["abc", "{value: 2}"],
}


def refused(recipe: str, overrides: list[str]) -> str:
    with time_bound(120):
        try:
            config = prepare(compose_recipe(recipe, overrides))
            build_parts(config, config["task"], open_data=False)
        except ConfigError as err:
            return str(err)
    raise AssertionError(f"accepted: +recipe={recipe} {overrides}")


@functools.lru_cache(maxsize=None)
def _first_layer(recipe: str) -> tuple[str, str]:
    """The first layer's name in a built-in recipe and its spec as text (composed once a recipe)."""
    name, spec = next(iter(resolve(compose_recipe(recipe))["network"]["layers"].items()))
    return name, str(spec)


def _cases():
    rng = random.Random(12)
    cases = []
    for recipe in BUILTIN:
        key, values = rng.choice(sorted(OVERRIDES.items()))
        cases.append((recipe, f"{key}={rng.choice(values)}"))
        cases.append((recipe, f"network.layers.LAYER.out_channels={rng.choice(HUGE)}"))
    return cases


@pytest.mark.parametrize("recipe, override", _cases())
def test_every_builtin_recipe_refuses_absurd_values(recipe, override):
    layer, spec = _first_layer(recipe)
    override = override.replace("LAYER", layer)
    if ".out_channels=" in override and "out_channels" not in spec:
        override = "+" + override
    assert refused(recipe, [override])


@pytest.mark.parametrize("recipe", BUILTIN)
def test_every_builtin_recipe_refuses_hostile_includes(recipe, tmp_path, monkeypatch):
    """hydra keys, a climb out of the recipe folders and a cycle, in a recipe that starts from ``recipe``."""
    monkeypatch.setenv("MM_TRAIN_RECIPE_PATH", str(tmp_path))
    head = f"# @package _global_\ndefaults:\n  - {recipe}\n"
    bodies = {"hydra": head + "  - _self_\nhydra:\n  job: {name: ../../x}\n",
              "climb": head + "  - ../x\n  - _self_\n",
              "cycle": head + "  - cycle\n  - _self_\n"}
    for name, body in bodies.items():
        (tmp_path / f"{name}.yaml").write_text(body)
    assert "a recipe cannot set Hydra's settings" in refused("hydra", [])
    assert "leaves the recipe folders" in refused("climb", [])
    assert "cycle -> cycle" in refused("cycle", [])


@pytest.mark.parametrize("recipe, override", [("quickstart", "+dataset.train.num_parallel_workers={value: 2}"),
                                              ("lenet_digits", "network.layers.LAYER.out_channels=2147483648")])
def test_a_debug_fast_run_refuses_them_too(recipe, override, tmp_path):
    from helpers import assert_user_error, run_main
    override = override.replace("LAYER", _first_layer(recipe)[0])
    assert_user_error(run_main(f"+recipe={recipe}", "debug=fast", override, f"hydra.run.dir={tmp_path}"))
