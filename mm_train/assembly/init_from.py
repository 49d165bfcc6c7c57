"""``init_from``: one spec and one loader for weights from any source, above checkpoints and migrate.

    init_from: runs/x/checkpoints/quickstart-10_420.ckpt          # a MindSpore checkpoint, every key must match
    init_from: {path: x.ckpt, allow_missing: ["end_point.*"]}      # ... keeping a new classifier head as built
    init_from: resnet18.pth                                        # another framework: the recipe's rules
    init_from: {path: r18.pth, format: torch, rules: torchvision_resnet, allow: ["fc.*"]}
    init_from: {path: ddp.pth, rules: {strip_prefix: module.}}     # inline rules, on top of the default ones
    init_from: {path: x.ckpt, ema: false}      # the raw weights of a train.ema_decay run (default: the EMA ones)

:func:`parse` turns either form into one dict. A MindSpore checkpoint given as a path, or as
a mapping using the checkpoint keys (``allow_missing``, ``allow_unexpected``), is loaded by
name (:func:`mm_train.runtime.checkpoints.load_checkpoint`: returns the names kept as built); anything
else goes through the importer's rules (:func:`mm_train.migrate.weights.import_weights`:
returns its report). :func:`load` does either; :func:`network_with_weights` builds the recipe's network
and loads its ``init_from`` (export, predict, parity, weights convert)::

    network = network_with_weights(config)   # network.weight_rules apply to another framework's file
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from mm_train.core.errors import ConfigError, closest

CHECKPOINT_KEYS = ("path", "allow_missing", "allow_unexpected")
IMPORT_KEYS = ("path", "format", "rules", "allow", "allow_missing")
KEYS = ("path", "format", "rules", "allow", "allow_missing", "allow_unexpected", "ema")   # ema: mm_train.learning.ema


def _patterns(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, bool):   # allow_missing: true (everything may be missing)
        return ["*"] if value else []
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(where, f"got {value!r}", expected="a list of glob patterns ['fc.*']")
    return list(value)


def parse(spec: Any, where: str = "init_from", default_rules: str | None = None) -> dict[str, Any] | None:
    """``init_from`` as one dict (None when unset).

    For the checkpoint loader: ``{path, format: mindspore, allow_missing, allow_unexpected}``;
    for the importer: ``{path, format, rules, allow}``. Without ``rules``: ``default_rules``
    (the recipe's ``network.weight_rules``) for another framework's file, else by format.
    """
    from mm_train.migrate.sources import FORMATS, guess_format
    from mm_train.migrate.weights import complete

    if spec is None or spec == "":
        return None
    if isinstance(spec, (str, Path)):
        fmt = guess_format(str(spec))
        if fmt in ("mindspore", None):
            return {"path": str(spec), "format": "mindspore", "allow_missing": [], "allow_unexpected": []}
        spec = {"path": str(spec)}
    if not isinstance(spec, Mapping):
        raise ConfigError(where, f"got {spec!r}", expected="a path, {path: X.ckpt, allow_missing: [GLOB, ...]} or "
                          "{path: FILE, format: torch|tf|mindspore, rules: NAME|FILE, allow: [GLOB, ...]}")
    errors = [ConfigError(f"{where}.{k}", "unknown key", expected=f"one of {list(KEYS)}",
                          suggestions=closest(str(k), KEYS)) for k in spec if k not in KEYS]
    if not spec.get("path"):
        errors.append(ConfigError(f"{where}.path", "missing", expected="the weight file"))
    fmt = spec.get("format") or (guess_format(str(spec["path"])) if spec.get("path") else None)
    if spec.get("path") and fmt not in FORMATS:
        errors.append(ConfigError(f"{where}.format", f"got {fmt!r}" if spec.get("format") else
                                  f"cannot tell the format of {spec['path']}", expected=f"one of {list(FORMATS)}",
                                  suggestions=closest(str(fmt), FORMATS)))
    checkpoint = fmt == "mindspore" and not {"rules", "format", "allow"} & set(spec) \
        and bool({"allow_missing", "allow_unexpected"} & set(spec))
    if not checkpoint and "allow_unexpected" in spec:
        errors.append(ConfigError(f"{where}.allow_unexpected", "is for MindSpore checkpoints loaded by name",
                                  expected="allow: [GLOB, ...] with rules or another framework's weights"))
    if errors:
        raise ConfigError.collect(errors)
    if checkpoint:
        return {"path": str(spec["path"]), "format": fmt,
                "allow_missing": _patterns(spec.get("allow_missing"), f"{where}.allow_missing"),
                "allow_unexpected": _patterns(spec.get("allow_unexpected"), f"{where}.allow_unexpected")}
    allow = _patterns(spec.get("allow", spec.get("allow_missing")), f"{where}.allow")
    # the recipe's or the format's rules; written inline ({strip_prefix: module.}) they extend those
    rules = complete({"path": str(spec["path"]), "format": fmt, "rules": spec.get("rules")}, default_rules)["rules"]
    return {"path": str(spec["path"]), "format": fmt, "rules": rules, "allow": allow}


def recipe_network(config: Mapping[str, Any]):
    """``(network, layer infos)``: the recipe's ``network`` built within its ``limits.max_params``."""
    from mm_train.nn.budget import max_params
    from mm_train.nn.builder import build_network
    return build_network(config["network"], max_params=max_params(config))


def weight_rules(config: Mapping[str, Any]) -> Any:
    """The rule set another framework's weights are read with (the recipe's ``network.weight_rules``)."""
    return (config.get("network") or {}).get("weight_rules")


def network_with_weights(config: Mapping[str, Any], where: str = "init_from"):
    """The recipe's network with its ``init_from`` weights loaded (none when ``init_from`` is unset)."""
    network, _ = recipe_network(config)
    load(network, config.get("init_from"), where, rules=weight_rules(config))
    return network


def load(network, spec: Any, where: str = "init_from", rules: Any = None) -> Any:
    """Load ``init_from`` into ``network``; every key must fit unless allowed (one ConfigError listing all).
    ``rules``: the recipe's ``network.weight_rules`` (:func:`weight_rules`), for another framework's file.

    Returns the names kept as built (checkpoint loader) or the importer's report; None when unset.
    """
    from mm_train.runtime.checkpoints import load_checkpoint
    from mm_train.learning.ema import split_choice
    from mm_train.migrate.weights import import_weights

    spec, use_ema = split_choice(spec)    # ema: false -> the raw weights of a train.ema_decay checkpoint
    parsed = parse(spec, where, rules)
    if parsed is None:
        return None
    if "rules" not in parsed:
        return load_checkpoint(network, parsed["path"], parsed["allow_missing"], parsed["allow_unexpected"], where,
                               ema=use_ema)
    report = import_weights(network, {**parsed, "ema": use_ema}, where)
    print(loaded_line(parsed, report, where), flush=True)
    return report


def loaded_line(parsed: dict[str, Any], report: Any, where: str = "init_from") -> str:
    """What an import loaded, in one line::

        init_from: loaded r18.pth (torch, rules torchvision_resnet): matched 62 of 62 network parameters
    """
    rules = parsed["rules"]
    if isinstance(rules, dict):
        inline = ", ".join(f"{k}: {v}" for k, v in rules.items() if k != "extends")
        rules = f"{rules.get('extends')} + {{{inline}}}" if rules.get("extends") else f"{{{inline}}}"
    total = len(report.matched) + len(report.missing) + len(report.mismatched)
    line = (f"{where}: loaded {parsed['path']} ({parsed['format']}, rules {rules}): matched {len(report.matched)} "
            f"of {total} network parameters")
    if report.allowed:
        more = ", ..." if len(report.allowed) > 3 else ""
        line += f"; allowed: {len(report.allowed)} ({', '.join(report.allowed[:3])}{more})"
    if report.unexpected:
        line += f"; {len(report.unexpected)} source keys unused"
    return line
