"""``mm-train recipes ls|show|cp|validate``: list, show, copy and validate recipes.

    mm-train recipes ls                          # every recipe, its source folder and description
    mm-train recipes show quickstart train.epochs=3
    mm-train recipes cp quickstart my_recipes/   # start your own from a copy
    mm-train recipes validate                    # compose and build every part of every recipe
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from mm_train.commands.parsers import add_command, add_group
from mm_train.core.device import set_environment
from mm_train.core.errors import ConfigError, closest


def ls_command(args) -> int:
    from mm_train.config.recipes import all_recipes
    recipes, shadowed = all_recipes()
    width = max((len(n) for n in recipes), default=4)
    source_width = max((len(r.source) for r in recipes.values()), default=6)
    unreadable = []
    for name, recipe in sorted(recipes.items()):
        problem = recipe.problem
        if problem is not None:
            unreadable.append(f"error: cannot read recipe '{name}': {recipe.path} {problem}")
        print(f"{name:<{width}}  {recipe.source:<{source_width}}  "
              f"{'(cannot be read, see below)' if problem else recipe.description}")
    for used, hidden in shadowed:
        print(f"note: recipe '{used.name}' from {used.path} shadows {hidden.path}", file=sys.stderr)
    for line in unreadable:
        print(line, file=sys.stderr)
    return 1 if unreadable else 0


def _recipe(name: str):
    from mm_train.config.boundary import check_name
    from mm_train.config.recipes import all_recipes
    check_name(name, "NAME")   # inside the recipe folders, not longer than a file name may be
    recipes, _ = all_recipes()
    if name not in recipes:
        raise ConfigError("NAME", f"no recipe named '{name}'", expected="a name from mm-train recipes ls",
                          suggestions=closest(name, recipes))
    return recipes[name]


def show_command(args) -> int:
    from omegaconf import OmegaConf

    from mm_train.config.composition import compose_recipe
    from mm_train.jobs import resolve
    from mm_train.app.entry import recipe_line
    _recipe(args.name)
    print(f"# {recipe_line(args.name)}")
    print(OmegaConf.to_yaml(OmegaConf.create(resolve(compose_recipe(args.name, args.overrides)))), end="")
    return 0


def cp_command(args) -> int:
    recipe = _recipe(args.name)
    dest = Path(args.dest)
    if dest.is_dir() or args.dest.endswith(("/", os.sep)):
        dest = dest / recipe.path.name
    if dest.suffix != ".yaml":
        dest = dest.with_suffix(".yaml")
    if dest.exists() and not args.force:
        raise ConfigError("DEST", f"{dest} exists", expected="a new file name, or --force to overwrite it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(recipe.text(), encoding="utf-8")   # read within bounds: never a FIFO, never a link outside
    print(f"copied {recipe.path} to {dest}\nrun it with: MM_TRAIN_RECIPE_PATH={dest.parent.resolve()} "
          f"mm-train run +recipe={dest.stem}")
    return 0


def for_target(name: str, overrides: list[str], device: str) -> dict:
    """The recipe composed with ``device=DEVICE`` and checked against that target's rules (loss scale, amp
    level: validation checks them against the config's device), then made buildable here: the parts are
    built on this machine's CPU to check them."""
    from mm_train.config.composition import compose_recipe
    from mm_train.jobs import prepare
    config = prepare(compose_recipe(name, [*overrides, f"device={device}"]))
    return {**config, "device": {**config["device"], "target": "CPU", "dataset_sink_mode": False},
            "loss_scale": {"type": "none"}}


@contextlib.contextmanager
def unfilled_parameters():
    """Parameters built with their shape, type and initializer, their values never drawn (MindSpore's
    ``no_init_parameters``, meant for weights a checkpoint fills later)."""
    from mindspore.nn.utils import no_init_parameters
    with no_init_parameters():
        yield


def validate_command(args) -> int:
    set_environment()
    from mm_train.assembly.parts import build_parts
    from mm_train.jobs import open_job
    from mm_train.config.recipes import all_recipes

    names = args.names or sorted(all_recipes()[0])
    failed = 0
    for name in names:
        try:
            _recipe(name)
            if getattr(args, "device", None):
                config = for_target(name, args.overrides, args.device)
            else:
                config = open_job(name, args.overrides).config
            with unfilled_parameters():   # shapes and types, not random values: the big networks check in seconds
                build_parts(config, config["task"], open_data=args.data)
            print(f"ok      {name}" + (f" (checked for {args.device})" if getattr(args, "device", None) else ""))
        except ConfigError as err:
            failed += 1
            print(f"FAILED  {name}: " + str(err).replace("\n", "\n        "))
    print(f"{len(names) - failed} passed, {failed} failed")
    return 1 if failed else 0


def add_to(sub) -> None:
    actions = add_group(sub, "recipes", "list, show, copy and validate recipes", "mm-train recipes ls")
    add_command(actions, "ls", "list recipes with their source folder and description", "mm-train recipes ls",
                ls_command)
    show = add_command(actions, "show", "print the composed, resolved config of a recipe",
                       "mm-train recipes show quickstart train.epochs=3", show_command)
    show.add_argument("name")
    show.add_argument("overrides", nargs="*", help="key=value overrides, as on run.py's command line")
    cp = add_command(actions, "cp", "copy a recipe to start your own", "mm-train recipes cp resnet50_cifar team/",
                     cp_command)
    cp.add_argument("name")
    cp.add_argument("dest", help="a file or a folder")
    cp.add_argument("--force", action="store_true", help="overwrite DEST")
    validate = add_command(actions, "validate", "compose and build every part of recipes without training "
                           "(exit 1 on any failure)", "mm-train recipes validate quickstart resnet50_cifar",
                           validate_command)
    validate.add_argument("names", nargs="*", help="recipes to check (default: all)")
    validate.add_argument("--override", dest="overrides", action="append", default=[],
                          help="a key=value override applied to every recipe (repeatable)")
    validate.add_argument("--data", action="store_true", help="also open the data sets")
    validate.add_argument("--device", choices=["cpu", "gpu", "ascend"], default=None,
                          help="check against that target's settings (conf/device/) without running on it")
