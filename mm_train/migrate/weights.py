"""Load another framework's weights into a network by rules, with a report of every key.

In a recipe (or on the command line) ``init_from`` takes a path or a mapping
(parsed by :mod:`mm_train.init_from`)::

    init_from: {path: resnet18.pth, format: torch, rules: torchvision_resnet, allow: ['fc.*']}

A recipe names the rule set its network needs in ``network.weight_rules`` (``torchvision_vit``); it
applies to weight files of another framework when ``init_from`` names no ``rules``.

``format`` (torch | tf | mindspore) defaults from the file's suffix and picks the default
rules (:data:`DEFAULT_RULES`); ``allow`` lists glob patterns of target or source keys that may
stay missing, unexpected or of another shape (a new classifier head keeps its initial values).
Anything else that does not match fails with the whole report.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from mm_train.errors import ConfigError, closest
from mm_train.migrate.rules import Converted, convert, load_rules
from mm_train.migrate.sources import read_weights

DEFAULT_RULES = {"torch": "torch", "tf": "keras", "mindspore": "mindspore"}


@dataclass
class Report:
    """What matched and what did not; ``ok`` when every problem is allowed."""
    matched: list[tuple[str, str, tuple]] = field(default_factory=list)     # (target, source, shape)
    missing: list[str] = field(default_factory=list)                       # target keys without a source
    unexpected: list[str] = field(default_factory=list)                    # source keys without a target
    mismatched: list[tuple[str, str, tuple, tuple]] = field(default_factory=list)  # target, source, src, tgt
    allowed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    folded: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)                       # the failures

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self, matched: bool = True) -> str:
        lines = []
        if matched:
            lines += [f"  {t:<48} <- {s}  {list(shape)}" for t, s, shape in self.matched]
        lines += [f"  dropped:  {k}" for k in self.dropped]
        lines += [f"  folded:   {s} into {bn}.moving_mean" for s, bn in self.folded]
        lines += [f"  allowed:  {k}" for k in self.allowed]
        lines += [f"  FAILED:   {p}" for p in self.problems]
        total = len(self.matched) + len(self.missing) + len(self.mismatched)
        lines.append(f"matched {len(self.matched)} of {total} target parameters; {len(self.missing)} missing, "
                     f"{len(self.unexpected)} unexpected source keys, {len(self.mismatched)} shape mismatches "
                     f"({len(self.allowed)} allowed)")
        return "\n".join(lines)


def _allowed(key: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(key, p) for p in patterns)


def match(converted: Converted, target: Mapping[str, tuple], allow: list[str]) -> Report:
    """Compare converted source arrays with the target's ``{name: shape}``."""
    report = Report(dropped=converted.dropped, folded=converted.folded, problems=list(converted.problems))
    for name, shape in target.items():
        shape = tuple(shape)
        if name not in converted.weights:
            report.missing.append(name)
            if _allowed(name, allow):
                report.allowed.append(f"{name} (missing in the source: keeps its initial value)")
            else:
                report.problems.append(f"missing in the source: {name} {list(shape)}")
            continue
        source = converted.origin.get(name, name)
        have = tuple(converted.weights[name].shape)
        if have != shape:
            report.mismatched.append((name, source, have, shape))
            if _allowed(name, allow) or _allowed(source, allow):
                report.allowed.append(f"{name} (source {source} {list(have)}, target {list(shape)}: keeps its "
                                      "initial value)")
            else:
                report.problems.append(f"shape of {name}: source {source} {list(have)}, target {list(shape)}")
            continue
        report.matched.append((name, source, shape))
    for name in converted.weights:
        if name not in target:
            source = converted.origin.get(name, name)
            report.unexpected.append(source)
            if _allowed(name, allow) or _allowed(source, allow):
                report.allowed.append(f"{source} (not in the network: ignored)")
            else:
                report.problems.append(f"not in the network: {source}" + (f" (renamed to {name})" if name != source
                                                                           else "") + _hint(name, target))
    return report


def _hint(name: str, names) -> str:
    near = closest(name, list(names), n=1)
    return f"; nearest: {near[0]}" if near else ""


def convert_weights(spec: Mapping[str, Any], target: Mapping[str, tuple] | None, where: str = "init_from"):
    """Read and convert the weights ``spec`` (:func:`mm_train.init_from.parse`'s ``{path, format, rules,
    allow}``, and ``ema: true`` for a checkpoint's EMA weights) names; return ``(Converted, Report or None)``."""
    rules = load_rules(spec["rules"], where=f"{where}.rules")
    weights = read_weights(spec["path"], where)
    if spec.get("ema") and spec.get("format") == "mindspore":
        from mm_train.ema import with_averages
        weights = with_averages(weights, spec["path"])
    converted = convert(weights, rules, target)
    report = match(converted, target, spec["allow"]) if target is not None else None
    if report is None and converted.problems:
        raise ConfigError(where, "the rules do not apply cleanly:\n    " + "\n    ".join(converted.problems))
    return converted, report


def fail_unless_ok(report: Report, path: str, where: str = "init_from") -> None:
    if not report.ok:
        shown = report.problems[:40] + ([f"... and {len(report.problems) - 40} more"] if len(report.problems) > 40
                                        else [])
        raise ConfigError(where, f"{path} does not fit the network ({report.text(matched=False).splitlines()[-1]}):"
                          "\n    " + "\n    ".join(shown),
                          expected="rules that map every key (rules: NAME|FILE), or allow: [PATTERN] for keys "
                                   "that may differ, such as a new head")


def import_weights(network, spec: Mapping[str, Any], where: str = "init_from") -> Report:
    """Load the weights ``spec`` (parsed, ``{path, format, rules, allow}``) names into ``network`` (a Cell);
    raise ConfigError unless every key fits."""
    import mindspore as ms

    params = {p.name: p for p in network.get_parameters()}
    converted, report = convert_weights(spec, {k: tuple(p.shape) for k, p in params.items()}, where)
    fail_unless_ok(report, str(spec["path"]), where)
    values = {t: ms.Parameter(ms.Tensor(converted.weights[t].astype(ms.dtype_to_nptype(params[t].dtype))), name=t)
              for t, _, _ in report.matched}
    not_loaded, _ = ms.load_param_into_net(network, values, strict_load=True)
    loaded_wrong = [k for k in not_loaded if k in values]
    if loaded_wrong:
        raise ConfigError(where, f"MindSpore did not load {loaded_wrong[:5]}")
    return report


def save_converted(converted: Converted | None, network, dest: str | Path) -> int:
    """Write the converted weights as a MindSpore checkpoint; with a network, its every parameter."""
    import mindspore as ms

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if network is not None:
        ms.save_checkpoint(network, str(dest))
        return len(list(network.get_parameters()))
    items = [{"name": k, "data": ms.Tensor(v.astype(np.float32) if v.dtype == np.float64 else v)}
             for k, v in converted.weights.items()]
    ms.save_checkpoint(items, str(dest))
    return len(items)
