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

Each subcommand is one module here with the same shape: handlers ``NAME_command(args) -> int`` and
``add_to(subparsers)``, built with :mod:`mm_train.commands.parsers` (``run`` has no handler: ``main``
hands it to Hydra unparsed). Adding one: write the module, add it
to ``SUBCOMMANDS``.
"""
from __future__ import annotations

import argparse
import sys

from mm_train.commands import blocks, data, launch, migrate, parity, recipes, run, sweep, weights
from mm_train.core.errors import ConfigError

SUBCOMMANDS = (run, recipes, blocks, sweep, data, launch, weights, parity, migrate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mm-train", description=__doc__.split("\n\nEach subcommand")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for subcommand in SUBCOMMANDS:
        subcommand.add_to(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from mm_train.runtime import interruption
    from mm_train.app.entry import quiet_broken_pipe
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

