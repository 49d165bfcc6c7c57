"""``mm-train``: run recipes, manage them, inspect the registries, report sweeps.

    mm-train run +recipe=quickstart train.epochs=3   # the same as python run.py ... (and python -m mm_train ...)
    mm-train recipes ls                          # every recipe, its source folder and description
    mm-train recipes show quickstart train.epochs=3
    mm-train recipes cp quickstart my_recipes/   # start your own from a copy
    mm-train recipes validate                    # compose and build every part of every recipe
    mm-train blocks ls --kind block              # registered components with their arguments
    mm-train sweep report multirun/2026-11-26/10-00-00
    mm-train data convert cifar10 SRC DEST      # data sets to MindRecord/TFRecord (also: data download)
    mm-train launch --nproc 2 -- +recipe=quickstart   # data parallel on 2 workers with msrun
    mm-train weights convert r18.pth r18.ckpt --rules torchvision_resnet --recipe resnet18_torchvision
    mm-train parity +recipe=resnet18_torchvision init_from=r18.ckpt --input x.npy --expected y.npy
    mm-train migrate onnx resnet50.onnx --name resnet50_onnx --out my_recipes   # any ONNX classifier -> a recipe
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mm_train.device import set_environment
from mm_train.errors import ConfigError, closest


def recipes_ls(args) -> int:
    from mm_train.recipes import all_recipes
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
    from mm_train.boundary import check_name
    from mm_train.recipes import all_recipes
    check_name(name, "NAME")   # inside the recipe folders, not longer than a file name may be
    recipes, _ = all_recipes()
    if name not in recipes:
        raise ConfigError("NAME", f"no recipe named '{name}'", expected="a name from mm-train recipes ls",
                          suggestions=closest(name, recipes))
    return recipes[name]


def recipes_show(args) -> int:
    from omegaconf import OmegaConf

    from mm_train.composition import compose_recipe
    from mm_train.jobs import resolve
    from mm_train.entry import recipe_line
    _recipe(args.name)
    print(f"# {recipe_line(args.name)}")
    print(OmegaConf.to_yaml(OmegaConf.create(resolve(compose_recipe(args.name, args.overrides)))), end="")
    return 0


def recipes_cp(args) -> int:
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
    from mm_train.composition import compose_recipe
    from mm_train.jobs import prepare
    config = prepare(compose_recipe(name, [*overrides, f"device={device}"]))
    return {**config, "device": {**config["device"], "target": "CPU", "dataset_sink_mode": False},
            "loss_scale": {"type": "none"}}


def recipes_validate(args) -> int:
    set_environment()
    from mm_train.assembly import build_parts
    from mm_train.jobs import open_job
    from mm_train.recipes import all_recipes

    names = args.names or sorted(all_recipes()[0])
    failed = 0
    for name in names:
        try:
            _recipe(name)
            if getattr(args, "device", None):
                config = for_target(name, args.overrides, args.device)
            else:
                config = open_job(name, args.overrides).config
            build_parts(config, config["task"], open_data=args.data)
            print(f"ok      {name}" + (f" (checked for {args.device})" if getattr(args, "device", None) else ""))
        except ConfigError as err:
            failed += 1
            print(f"FAILED  {name}: " + str(err).replace("\n", "\n        "))
    print(f"{len(names) - failed} passed, {failed} failed")
    return 1 if failed else 0


PLURALS = {"loss": "losses", "lr schedule": "lr schedules"}


def blocks_ls(args) -> int:
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


def sweep_report(args) -> int:
    from mm_train.sweep_report import format_table, report
    rows = report(Path(args.dir), args.metric, include_unfinished=args.all)
    print(format_table(rows))
    print(f"\nwrote {Path(args.dir) / 'report.csv'}, report.md and report.png")
    return 0


def launch(args) -> int:
    from mm_train.launch import launch as run_launch
    overrides = [o for o in args.overrides if o != "--"]
    return run_launch(args.nproc, overrides, master_addr=args.master_addr, master_port=args.master_port,
                      nnodes=args.nnodes, node_rank=args.node_rank, cluster_time_out=args.cluster_time_out)


def _add(sub, name: str, help: str, example: str, func):
    parser = sub.add_parser(name, help=help, description=f"{help}\n\nexample:\n  {example}",
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(func=func)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mm-train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="train, evaluate or inspect a recipe: the same as python run.py (Hydra's "
                   "command line: mm-train run +recipe=quickstart train.epochs=3; mm-train run --help)", add_help=False)

    recipes = sub.add_parser("recipes", help="list, show, copy and validate recipes",
                             description="list, show, copy and validate recipes\n\nexample:\n  mm-train recipes ls",
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = recipes.add_subparsers(dest="action", required=True)
    _add(actions, "ls", "list recipes with their source folder and description", "mm-train recipes ls", recipes_ls)
    show = _add(actions, "show", "print the composed, resolved config of a recipe",
                "mm-train recipes show quickstart train.epochs=3", recipes_show)
    show.add_argument("name")
    show.add_argument("overrides", nargs="*", help="key=value overrides, as on run.py's command line")
    cp = _add(actions, "cp", "copy a recipe to start your own", "mm-train recipes cp resnet50_cifar team/", recipes_cp)
    cp.add_argument("name")
    cp.add_argument("dest", help="a file or a folder")
    cp.add_argument("--force", action="store_true", help="overwrite DEST")
    validate = _add(actions, "validate", "compose and build every part of recipes without training "
                    "(exit 1 on any failure)", "mm-train recipes validate quickstart resnet50_cifar", recipes_validate)
    validate.add_argument("names", nargs="*", help="recipes to check (default: all)")
    validate.add_argument("--override", dest="overrides", action="append", default=[],
                          help="a key=value override applied to every recipe (repeatable)")
    validate.add_argument("--data", action="store_true", help="also open the data sets")
    validate.add_argument("--device", choices=["cpu", "gpu", "ascend"], default=None,
                          help="check against that target's settings (conf/device/) without running on it")

    blocks = sub.add_parser("blocks", help="inspect registered components",
                            description="inspect registered components\n\nexample:\n  mm-train blocks ls",
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    ls = _add(blocks.add_subparsers(dest="action", required=True), "ls",
              "list registered components by kind with their arguments", "mm-train blocks ls --kind block", blocks_ls)
    ls.add_argument("--kind", help="only this kind (block, dataset, transform, loss, optimizer, ...)")

    sweep = sub.add_parser("sweep", help="report on Hydra sweeps",
                           description="report on Hydra sweeps\n\nexample:\n  mm-train sweep report multirun/DATE/TIME",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    report = _add(sweep.add_subparsers(dest="action", required=True), "report",
                  "table of a multirun's jobs (best first), written as CSV, Markdown and a PNG plot",
                  "mm-train sweep report multirun/2026-11-26/10-00-00 --metric acc", sweep_report)
    report.add_argument("dir", help="the multirun directory (hydra.sweep.dir)")
    report.add_argument("--metric", default="acc", help="the metric to rank by (default acc; loss ranks lowest first)")
    report.add_argument("--all", action="store_true",
                        help="rank unfinished jobs (interrupted, failed, diverged) by their last evaluation too")

    run = _add(sub, "launch", "train a recipe data-parallel on several devices with msrun (one run directory; "
               "exits non-zero naming the rank when a worker dies)",
               "mm-train launch --nproc 2 -- +recipe=quickstart device=cpu\n"
               "  mm-train launch --nproc 8 --nnodes 2 --node-rank 0 --master-addr 10.0.0.1 -- "
               "+recipe=resnet50_cifar device=ascend hydra.run.dir=/shared/runs/r50", launch)
    run.add_argument("--nproc", type=int, required=True, help="workers (devices) on this node")
    run.add_argument("--nnodes", type=int, default=1, help="machines in the job (default 1)")
    run.add_argument("--node-rank", type=int, default=0, help="this machine's index, 0..nnodes-1")
    run.add_argument("--master-addr", default="127.0.0.1", help="address of node 0 (msrun's scheduler)")
    run.add_argument("--master-port", type=int, default=None, help="scheduler port (default: a free port; "
                     "give the same one on every node)")
    run.add_argument("--cluster-time-out", type=int, default=120,
                     help="seconds msrun waits for the cluster to form or a lost worker (default 120)")
    run.add_argument("overrides", nargs=argparse.REMAINDER, help="after --: run.py's arguments (+recipe=NAME ...)")

    from mm_train.data.commands import add_commands as add_data_commands
    add_data_commands(sub)
    from mm_train.migrate.commands import add_commands as add_migrate_commands
    add_migrate_commands(sub, _add)
    return parser


def main(argv: list[str] | None = None) -> int:
    from mm_train import interruption
    from mm_train.entry import quiet_broken_pipe
    own_process, argv = argv is None, sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"]:   # Hydra parses the rest, as in python run.py
        from mm_train.__main__ import main as run_main
        return run_main(argv[1:], own_process=own_process)
    if own_process:   # Ctrl-C / SIGTERM: one line, exit 128 + signal
        interruption.install(block_sigint=False)
    with quiet_broken_pipe():
        args = build_parser().parse_args(argv)
        try:
            code = args.func(args)
        except ConfigError as err:
            print(f"error: {err}", file=sys.stderr)
            code = ConfigError.exit_code
        except BaseException as err:
            signum = interruption.was_interrupted(err)
            if signum is None or isinstance(err, SystemExit):
                raise
            print(interruption.message(signum), file=sys.stderr, flush=True)
            if own_process:
                interruption.exit_now(128 + signum)
            return 128 + signum
        sys.stdout.flush()   # a closed pipe shows here, inside quiet_broken_pipe
        return code


if __name__ == "__main__":
    sys.exit(main())
