"""Load another framework's weights into a network by rules, with a report of every key.

In a recipe (or on the command line) ``init_from`` takes a path or a mapping
(parsed by :mod:`mm_train.assembly.init_from`)::

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
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from mm_train.core.errors import ConfigError, closest
from mm_train.migrate.rules import Converted, convert, load_rules
from mm_train.migrate.sources import read_weights

DEFAULT_RULES = {"torch": "torch", "tf": "keras", "mindspore": "mindspore"}
COMMON_PREFIXES = ("module.", "model.", "_orig_mod.", "backbone.", "net.", "network.", "encoder.")
log = logging.getLogger(__name__)


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
    permuted: list[str] = field(default_factory=list)                       # Dense kernels reordered
    warnings: list[str] = field(default_factory=list)
    cause: str = ""                                                         # the likely cause of the problems

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self, matched: bool = True) -> str:
        lines = []
        if matched:
            lines += [f"  {t:<48} <- {s}  {list(shape)}" for t, s, shape in self.matched]
        lines += [f"  dropped:  {k}" for k in self.dropped]
        lines += [f"  folded:   {s} into {bn}.moving_mean" for s, bn in self.folded]
        lines += [f"  permuted: {k}" for k in self.permuted]
        lines += [f"  allowed:  {k}" for k in self.allowed]
        lines += [f"  WARNING:  {w}" for w in self.warnings]
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


def likely_cause(source_keys, target) -> str:
    """A prefix every source key has and no target key (``module.`` from DataParallel, ``model.`` from
    Lightning), with the rule that strips it; "" when there is none."""
    keys = [k for k in source_keys if not k.endswith("num_batches_tracked")]
    if not keys or not target:
        return ""
    first = keys[0].split(".", 1)[0] + "." if "." in keys[0] else ""
    for prefix in dict.fromkeys((*COMMON_PREFIXES, first)):
        if prefix and all(k.startswith(prefix) for k in keys) and not any(t.startswith(prefix) for t in target):
            return (f"every source name starts with '{prefix}' (a model saved wrapped, e.g. "
                    f"{'DataParallel' if prefix == 'module.' else 'Lightning' if prefix == 'model.' else 'a wrapper'}),"
                    f" no network name does: add rules: {{strip_prefix: {prefix}}} to init_from (weights convert: "
                    f"--strip-prefix {prefix})")
    return ""


@dataclass
class FlattenDense:
    """A Dense whose input comes from a Flatten of ``in_shape`` (C, H, W) in ``order``."""
    flatten: str
    dense_weight: str
    in_shape: tuple
    order: str


def flatten_dense_pairs(network) -> list[FlattenDense]:
    """Each Flatten of the network followed (as the next layer with parameters) by a Dense."""
    from mindspore import nn

    from mm_train.nn.layers import Flatten

    pairs, pending = [], None
    for name, cell in network.cells_and_names():
        if isinstance(cell, Flatten):
            pending = (name, cell)
            continue
        own = list(cell.get_parameters(expand=False))
        if not own:
            continue
        if pending is not None and isinstance(cell, nn.Dense):
            pairs.append(FlattenDense(pending[0], cell.weight.name, pending[1].in_shape, pending[1].order))
        pending = None
    return pairs


def reorder_flattened(converted: Converted, pairs: list[FlattenDense], source_order: str | None, report: Report):
    """Permute the input rows of each Dense kernel after a Flatten from the source's order to the network's;
    warn, naming the layer, when the rules do not say how the source flattens."""
    for pair in pairs:
        if len(pair.in_shape) != 3 or pair.in_shape[1] * pair.in_shape[2] == 1:
            continue
        if source_order is None:
            report.warnings.append(f"{pair.dense_weight} follows the Flatten '{pair.flatten}' of a "
                                   f"{list(pair.in_shape)} input and the rules do not say in which order the source "
                                   "flattened it (Keras: channels last): add flatten: hwc|chw to the rules, or "
                                   "order: hwc to the Flatten, and check with mm-train parity")
            continue
        if source_order == pair.order or pair.dense_weight not in converted.weights:
            continue
        kernel = converted.weights[pair.dense_weight]
        c, h, w = pair.in_shape
        if kernel.ndim != 2 or kernel.shape[1] != c * h * w:
            continue
        if source_order == "hwc":   # rows (h, w, c) -> (c, h, w)
            kernel = kernel.reshape(-1, h, w, c).transpose(0, 3, 1, 2)
        else:
            kernel = kernel.reshape(-1, c, h, w).transpose(0, 2, 3, 1)
        converted.weights[pair.dense_weight] = np.ascontiguousarray(kernel.reshape(kernel.shape[0], -1))
        report.permuted.append(f"{pair.dense_weight}: input rows {source_order.upper()} -> {pair.order.upper()} "
                               f"(after the Flatten '{pair.flatten}' of {list(pair.in_shape)})")


def convert_weights(spec: Mapping[str, Any], target: Mapping[str, tuple] | None, where: str = "init_from",
                    network=None):
    """Read and convert the weights ``spec`` (:func:`mm_train.assembly.init_from.parse`'s ``{path, format, rules,
    allow}``, and ``ema: true`` for a checkpoint's EMA weights) names; return ``(Converted, Report or None)``.
    With ``network``: a Keras 3 .weights.h5 is mapped onto its layers by position, and Dense kernels after a
    Flatten are reordered (:func:`reorder_flattened`)."""
    from mm_train.migrate import keras3

    rules = load_rules(spec["rules"], where=f"{where}.rules")
    weights = read_weights(spec["path"], where)
    if spec.get("ema") and spec.get("format") == "mindspore":
        from mm_train.learning.ema import with_averages
        weights = with_averages(weights, spec["path"])
    if keras3.positional(weights):
        if network is None:
            raise ConfigError(where, f"{spec['path']} is a Keras 3 .weights.h5: its layers are named by class and "
                              "counter (conv2d_3), so they map by position onto a network",
                              expected="--recipe NAME (the network to map onto), or the model saved with "
                                       "model.save('m.keras'), whose config.json names the layers")
        converted = keras3.by_position(weights, keras3.in_keras3_order(keras3.network_layers(network),
                                                                        rules.keras3_order))
    else:
        converted = convert(weights, rules, target)
    report = match(converted, target, list(spec.get("allow") or [])) if target is not None else None
    if report is None and converted.problems:
        raise ConfigError(where, "the rules do not apply cleanly:\n    " + "\n    ".join(converted.problems))
    if report is not None:
        if network is not None:
            reorder_flattened(converted, flatten_dense_pairs(network), rules.flatten, report)
        if not report.ok and keras3.positional(weights):
            report.cause = ("the layers were mapped by position (a Keras 3 .weights.h5 names them by class and "
                            "counter, conv2d_3) and the network builds them in another order; load the model saved "
                            "with model.save('m.keras'), whose config.json names the layers, or use rules whose "
                            "keras3_order lists each block's layers as Keras does (keras_resnet50 for ResNets)")
        elif not report.ok:
            report.cause = likely_cause(list(weights), target)
    return converted, report


def fail_unless_ok(report: Report, path: str, where: str = "init_from") -> None:
    if not report.ok:
        shown = report.problems[:40] + ([f"... and {len(report.problems) - 40} more"] if len(report.problems) > 40
                                        else [])
        cause = f"likely cause: {report.cause}\n    " if report.cause else ""
        raise ConfigError(where, f"{path} does not fit the network ({report.text(matched=False).splitlines()[-1]}):"
                          "\n    " + cause + "\n    ".join(shown),
                          expected="rules that map every key (rules: NAME|FILE), or allow: [PATTERN] for keys "
                                   "that may differ, such as a new head")


def complete(spec: Mapping[str, Any], default_rules: str | None = None) -> dict[str, Any]:
    """``spec`` with its defaults, as :func:`mm_train.assembly.init_from.parse` gives them: ``format`` from the suffix,
    ``rules`` the recipe's (``default_rules``) or the format's, inline rules extending those, ``allow`` []."""
    from mm_train.migrate.sources import guess_format

    fmt = spec.get("format") or guess_format(str(spec["path"]))
    default = default_rules if default_rules and fmt != "mindspore" else DEFAULT_RULES.get(fmt)
    rules = spec.get("rules") or default
    if isinstance(rules, Mapping) and "extends" not in rules:
        rules = {"extends": default, **dict(rules)}
    return {**spec, "format": fmt, "rules": rules, "allow": list(spec.get("allow") or [])}


def import_weights(network, spec: Mapping[str, Any], where: str = "init_from", default_rules: Any = None) -> Report:
    """Load the weights ``spec`` (``{path, format, rules, allow}``; rules default to ``default_rules``, the
    recipe's ``network.weight_rules``, else the format's) names into ``network`` (a Cell);
    raise ConfigError unless every key fits."""
    import mindspore as ms

    spec = complete(spec, default_rules)
    params = {p.name: p for p in network.get_parameters()}
    converted, report = convert_weights(spec, {k: tuple(p.shape) for k, p in params.items()}, where, network)
    fail_unless_ok(report, str(spec["path"]), where)
    for warning in report.warnings:
        log.warning("%s: %s", where, warning)
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
