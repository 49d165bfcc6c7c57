"""``mm-train blocks ls``: the registered components a recipe can name, by kind, with their arguments.

    mm-train blocks ls --kind block
"""
from __future__ import annotations

from mm_train.commands.parsers import add_command, add_group
from mm_train.core.device import set_environment
from mm_train.core.errors import ConfigError, closest

PLURALS = {"loss": "losses", "lr schedule": "lr schedules"}


def ls_command(args) -> int:
    set_environment()
    from mm_train.registry import ALL, load_all
    load_all()
    if args.kind and args.kind not in ALL:
        raise ConfigError("--kind", f"unknown kind '{args.kind}'", expected=f"one of {list(ALL)}",
                          suggestions=closest(args.kind, ALL))
    for kind, registry in ALL.items():
        if args.kind and args.kind != kind:
            continue
        print(f"{PLURALS.get(kind, kind + 's')}:")
        for name in registry.names():
            takes = registry.meta(name).get("inputs")   # graph blocks: how many `inputs` (mm_train.nn.graph)
            note = "" if takes is None else \
                "  # inputs: " + {0: "[] (none)", "many": "2 or more"}.get(takes, str(takes))
            print(f"  {name}({registry.signature(name)}){note}")
    return 0


def add_to(sub) -> None:
    actions = add_group(sub, "blocks", "inspect registered components", "mm-train blocks ls")
    ls = add_command(actions, "ls", "list registered components by kind with their arguments",
                     "mm-train blocks ls --kind block", ls_command)
    ls.add_argument("--kind", help="only this kind (block, dataset, transform, loss, optimizer, ...)")
