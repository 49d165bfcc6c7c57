"""``mm-train``: manage recipes and inspect the registries.

    mm-train recipes ls              # every recipe, its source folder and description
    mm-train blocks ls               # registered components by kind, with their arguments
    mm-train data convert|download   # data sets to MindRecord/TFRecord; fetch CIFAR
"""
from __future__ import annotations

import argparse
import inspect
import sys

from mm_train.errors import ConfigError


def recipes_ls(args) -> int:
    from mm_train.recipes import all_recipes
    recipes, shadowed = all_recipes()
    width = max((len(n) for n in recipes), default=4)
    for name, recipe in sorted(recipes.items()):
        print(f"{name:<{width}}  {recipe.source:<10}  {recipe.description}")
    for winner, loser in shadowed:
        print(f"note: {loser.path} is shadowed by {winner.path}", file=sys.stderr)
    return 0


def _arguments(factory, skip: int) -> str:
    try:
        params = list(inspect.signature(factory).parameters.values())[skip:]
    except (TypeError, ValueError):
        return ""
    return ", ".join(p.name if p.default is p.empty else f"{p.name}={p.default!r}" for p in params
                     if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))


def blocks_ls(args) -> int:
    import os
    os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
    os.environ.setdefault("GLOG_v", "3")
    from mm_train.registry import ALL
    from mm_train.runner import load_components
    load_components()
    skips = {"block": 1, "lr schedule": 2, "callback": 1, "optimizer": 2, "dataset": 6}
    for kind, registry in ALL.items():
        if args.kind and args.kind != kind:
            continue
        print(f"{kind}s:")
        for name in registry.names():
            print(f"  {name}({_arguments(registry.get(name, kind), skips.get(kind, 0))})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mm-train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    recipes = sub.add_parser("recipes", help="list and manage recipes").add_subparsers(dest="action", required=True)
    recipes.add_parser("ls", help="list recipes (example: mm-train recipes ls)").set_defaults(func=recipes_ls)
    blocks = sub.add_parser("blocks", help="inspect registered components").add_subparsers(dest="action",
                                                                                            required=True)
    ls = blocks.add_parser("ls", help="list registered components (example: mm-train blocks ls --kind block)")
    ls.add_argument("--kind", help="only this kind (block, dataset, transform, loss, optimizer, ...)")
    ls.set_defaults(func=blocks_ls)
    from mm_train.data.commands import add_commands as add_data_commands
    add_data_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return ConfigError.exit_code


if __name__ == "__main__":
    sys.exit(main())
