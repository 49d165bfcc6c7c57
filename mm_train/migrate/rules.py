"""Mapping rules: how another framework's weight names and layouts become a recipe network's.

A rule set is a YAML file (built in: ``mm_train/migrate/rules/NAME.yaml``; or your own path)::

    description: torchvision ResNet -> recipes with style: torchvision
    extends: torch                  # apply that rule set's entries first (optional)
    drop: ['num_batches_tracked$']  # source keys to ignore (regex, searched)
    layout:                         # on source keys, before renaming: the first match applies
      - {match: 'kernel$', ndim: 4, transpose: [3, 2, 0, 1]}     # HWIO -> OIHW
    rename:                         # ordered regex substitutions (re.sub), each applied in turn
      - {match: '\\.weight$', replace: '.gamma', if_sibling: 'running_(mean|var)$'}   # only in BatchNorms
      - ['^features\\.', 'backbone.']                                        # short form
    fold_bias:                      # conv biases into the following BatchNorm, when the target has none
      - {match: '^(.*)conv(\\d+)\\.bias$', into: '\\1bn\\2'}
    strip_prefix: module.           # removed from the start of every source key first (DataParallel, Lightning)
    flatten: hwc                    # the order the source framework flattens C, H, W in (Keras: hwc; torch: chw)
    keras3_order:                   # a Keras 3 .weights.h5 alone: the order Keras lists a block's layers in
      - {block: '^layer\\d+\\.\\d+\\.', order: [conv1, bn1, conv2, bn2, downsample.0, conv3, downsample.1, bn3]}

``flatten``: a Dense that follows a Flatten of a C x H x W input (H * W > 1) takes its inputs in the
source framework's order; when the recipe's Flatten has another ``order`` (default ``chw``), the
Dense kernel's input rows are permuted to match (:mod:`mm_train.migrate.weights`).

``keras3_order``: a Keras 3 ``.weights.h5`` alone names its layers by class and counter in the order of
Keras's layer list, and is mapped by position onto the network (:mod:`mm_train.migrate.keras3`). Where Keras
lists a block's layers in another order than the network builds them (Keras's ResNet: the projection
shortcut after the 3x3 conv, the network: last), each entry says so: the network's cells whose name starts
with a match of ``block`` and continues with a name in ``order`` are taken in that order (the others keep
their place) before they are paired, shapes still checked.

``if_sibling: REGEX`` applies a rename only when the module of the key (its name up to the last
``.`` or ``/``) also has a source key whose last part (after the module) the regex finds.
Folding subtracts the bias from the BatchNorm's ``moving_mean``: ``bn(conv(x) + b)`` equals
``bn'(conv(x))`` with ``mean' = mean - b``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import yaml

from mm_train.core.errors import ConfigError, closest

BUILTIN_DIR = Path(__file__).resolve().parent / "rules"
KEYS = ("description", "extends", "strip_prefix", "drop", "layout", "rename", "fold_bias", "flatten", "keras3_order")
FLATTEN_ORDERS = ("chw", "hwc")


def builtin_rules() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


@dataclass
class Rename:
    pattern: re.Pattern
    replace: str
    if_sibling: re.Pattern | None = None


@dataclass
class Layout:
    pattern: re.Pattern
    ndim: int | None
    transpose: tuple[int, ...]


@dataclass
class Fold:
    pattern: re.Pattern
    into: str


@dataclass
class BlockOrder:
    """``keras3_order`` entry: the cells of each block (names starting with a match of ``block``) in ``order``."""
    block: re.Pattern
    order: tuple[str, ...]


@dataclass
class RuleSet:
    name: str
    description: str = ""
    drop: list[re.Pattern] = field(default_factory=list)
    layout: list[Layout] = field(default_factory=list)
    rename: list[Rename] = field(default_factory=list)
    fold_bias: list[Fold] = field(default_factory=list)
    strip_prefix: list[str] = field(default_factory=list)
    flatten: str | None = None          # chw | hwc: how the source flattens; None: not declared
    keras3_order: list[BlockOrder] = field(default_factory=list)


def _regex(value: Any, where: str) -> re.Pattern:
    if not isinstance(value, str):
        raise ConfigError(where, f"got {value!r}", expected="a regular expression string")
    try:
        return re.compile(value)
    except re.error as err:
        raise ConfigError(where, f"bad regular expression {value!r}: {err}") from None


def _list(spec: Mapping, key: str, where: str) -> list:
    value = spec.get(key) or []
    if not isinstance(value, list):
        raise ConfigError(f"{where}.{key}", f"got {value!r}", expected="a list")
    return value


def _parse(spec: Any, name: str, where: str, seen: tuple[str, ...]) -> RuleSet:
    if not isinstance(spec, Mapping):
        raise ConfigError(where, f"got {type(spec).__name__}", expected="a mapping with keys " + ", ".join(KEYS))
    unknown = [k for k in spec if k not in KEYS]
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}", "unknown key", expected=f"one of {list(KEYS)}",
                          suggestions=closest(str(unknown[0]), KEYS))
    rules = load_rules(spec["extends"], where=f"{where}.extends", seen=seen) if spec.get("extends") else RuleSet(name)
    rules.name, rules.description = name, str(spec.get("description") or rules.description)
    prefixes = spec.get("strip_prefix") or []
    prefixes = [prefixes] if isinstance(prefixes, str) else prefixes
    if not isinstance(prefixes, list) or not all(isinstance(p, str) and p for p in prefixes):
        raise ConfigError(f"{where}.strip_prefix", f"got {spec.get('strip_prefix')!r}",
                          expected="a prefix such as module. (or a list of them)")
    rules.strip_prefix += prefixes
    if spec.get("flatten") is not None:
        if spec["flatten"] not in FLATTEN_ORDERS:
            raise ConfigError(f"{where}.flatten", f"got {spec['flatten']!r}", expected=f"one of {list(FLATTEN_ORDERS)}",
                              suggestions=closest(str(spec["flatten"]), FLATTEN_ORDERS))
        rules.flatten = spec["flatten"]
    rules.drop += [_regex(p, f"{where}.drop[{i}]") for i, p in enumerate(_list(spec, "drop", where))]
    for i, entry in enumerate(_list(spec, "layout", where)):
        here = f"{where}.layout[{i}]"
        if not isinstance(entry, Mapping) or "match" not in entry or "transpose" not in entry:
            raise ConfigError(here, f"got {entry!r}", expected="{match: REGEX, ndim: N, transpose: [axes]}")
        axes = entry["transpose"]
        if not isinstance(axes, list) or sorted(axes) != list(range(len(axes))):
            raise ConfigError(f"{here}.transpose", f"got {axes!r}", expected="a permutation such as [3, 2, 0, 1]")
        ndim = entry.get("ndim", len(axes))
        rules.layout.append(Layout(_regex(entry["match"], f"{here}.match"), ndim, tuple(axes)))
    for i, entry in enumerate(_list(spec, "rename", where)):
        here = f"{where}.rename[{i}]"
        if isinstance(entry, list) and len(entry) == 2:
            entry = {"match": entry[0], "replace": entry[1]}
        if not isinstance(entry, Mapping) or "match" not in entry or not isinstance(entry.get("replace"), str):
            raise ConfigError(here, f"got {entry!r}", expected="[REGEX, REPLACEMENT] or {match:, replace:, "
                              "if_sibling:}")
        sibling = _regex(entry["if_sibling"], f"{here}.if_sibling") if entry.get("if_sibling") else None
        rules.rename.append(Rename(_regex(entry["match"], f"{here}.match"), entry["replace"], sibling))
    for i, entry in enumerate(_list(spec, "keras3_order", where)):
        here = f"{where}.keras3_order[{i}]"
        order = entry.get("order") if isinstance(entry, Mapping) else None
        if not isinstance(entry, Mapping) or "block" not in entry or not isinstance(order, list) \
                or not order or not all(isinstance(n, str) and n for n in order):
            raise ConfigError(here, f"got {entry!r}", expected="{block: REGEX, order: [CELL, ...]} such as "
                              "{block: '^layer\\d+\\.\\d+\\.', order: [conv1, bn1, downsample.0, conv2]}")
        rules.keras3_order.append(BlockOrder(_regex(entry["block"], f"{here}.block"), tuple(order)))
    for i, entry in enumerate(_list(spec, "fold_bias", where)):
        here = f"{where}.fold_bias[{i}]"
        if not isinstance(entry, Mapping) or "match" not in entry or not isinstance(entry.get("into"), str):
            raise ConfigError(here, f"got {entry!r}", expected="{match: BIAS_REGEX, into: BATCHNORM_NAME}")
        rules.fold_bias.append(Fold(_regex(entry["match"], f"{here}.match"), entry["into"]))
    return rules


def load_rules(name_or_path: Any, where: str = "rules", seen: tuple[str, ...] = ()) -> RuleSet:
    """A built-in rule set by NAME, a YAML file by path, or a rule set written inline as a mapping
    (``{extends: torch, strip_prefix: module.}``); ``None`` is the identity."""
    if isinstance(name_or_path, Mapping):
        return _parse(dict(name_or_path), "inline", where, seen)
    if not name_or_path:
        return RuleSet("identity")
    text = str(name_or_path)
    path = Path(text)
    if not (text.endswith((".yaml", ".yml")) or path.is_file()):
        if text not in builtin_rules():
            raise ConfigError(where, f"no rule set named '{text}'",
                              expected=f"a built-in rule set {builtin_rules()} or a .yaml file",
                              suggestions=closest(text, builtin_rules()))
        path = BUILTIN_DIR / f"{text}.yaml"
    if not path.is_file():
        raise ConfigError(where, f"rules file not found: {path}", expected=f"a .yaml file or one of {builtin_rules()}")
    if str(path.resolve()) in seen:
        raise ConfigError(where, f"rule sets extend each other in a loop: {path}")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(where, f"{path} is not valid YAML: {err}") from None
    return _parse(spec, path.stem, str(path), (*seen, str(path.resolve())))


def _module(key: str) -> str:
    cut = max(key.rfind("."), key.rfind("/"))
    return key[:cut + 1] if cut >= 0 else ""


@dataclass
class Converted:
    """The source arrays under target names, and what happened to the rest."""
    weights: dict[str, np.ndarray]
    origin: dict[str, str]              # target name -> source name
    dropped: list[str]
    folded: list[tuple[str, str]]       # (source bias, BatchNorm it went into)
    problems: list[str]


def _strip(key: str, prefixes: list[str]) -> str:
    for prefix in prefixes:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def convert(source: Mapping[str, np.ndarray], rules: RuleSet, target: Mapping[str, tuple] | None = None) -> Converted:
    """Apply ``rules`` to ``source``; ``target`` (name -> shape) decides which conv biases are folded."""
    if rules.strip_prefix:
        source = {_strip(key, rules.strip_prefix): value for key, value in source.items()}
    siblings: dict[str, list[str]] = {}
    for key in source:
        siblings.setdefault(_module(key), []).append(key)
    out: dict[str, np.ndarray] = {}
    origin, dropped, folded, problems = {}, [], [], []
    for key, array in source.items():
        if any(p.search(key) for p in rules.drop):
            dropped.append(key)
            continue
        array = np.asarray(array)
        for layout in rules.layout:
            if layout.pattern.search(key) and (layout.ndim is None or array.ndim == layout.ndim):
                if array.ndim != len(layout.transpose):
                    problems.append(f"layout of {key}: {array.ndim} axes, transpose {list(layout.transpose)}")
                else:
                    array = np.ascontiguousarray(np.transpose(array, layout.transpose))
                break
        name = key
        for rule in rules.rename:
            if rule.if_sibling and not any(rule.if_sibling.search(k[len(_module(key)):])
                                           for k in siblings[_module(key)]):
                continue
            name = rule.pattern.sub(rule.replace, name)
        if name in out:
            problems.append(f"{key} and {origin[name]} both become {name}")
            continue
        out[name], origin[name] = array, key
    for name in list(out):
        fold = next((f for f in rules.fold_bias if f.pattern.search(name)), None)
        if fold is None or (target is not None and name in target):
            continue
        bn = fold.pattern.sub(fold.into, name)
        mean = f"{bn}.moving_mean"
        if mean not in out:
            problems.append(f"cannot fold {origin[name]} into {bn}: no {mean} in the source")
            continue
        out[mean] = out[mean] - out.pop(name).astype(out[mean].dtype)
        folded.append((origin.pop(name), bn))
    return Converted(out, origin, dropped, folded, problems)
