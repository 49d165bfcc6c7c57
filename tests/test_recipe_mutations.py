"""Property: a mutated recipe (keys dropped, renamed, retyped) either builds or gives the clear
error (ConfigError) — never another exception, which run.py would show as a traceback."""
import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mm_train.config import walk
from mm_train.composition import compose_recipe
from mm_train.errors import ConfigError
from mm_train.assembly import build_parts
from mm_train.jobs import prepare, resolve

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
