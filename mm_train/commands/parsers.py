"""The one way a subcommand adds itself to ``mm-train``: a group of actions, or a command with a handler.

    def add_to(sub):                                   # every module in mm_train.commands has this
        recipes = add_group(sub, "recipes", "list, show, copy and validate recipes", "mm-train recipes ls")
        ls = add_command(recipes, "ls", "list recipes", "mm-train recipes ls", ls_command)

A handler takes the parsed arguments and returns the exit code; a ConfigError it raises is printed as
one ``error:`` line and exits 2 (:func:`mm_train.commands.main`).
"""
from __future__ import annotations

import argparse
from typing import Callable


def _parser(sub, name: str, help: str, example: str, **kwargs) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help, description=f"{help}\n\nexample:\n  {example}",
                          formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)


def add_group(sub, name: str, help: str, example: str):
    """``mm-train NAME ACTION ...``: returns the subparsers to add the actions to."""
    return _parser(sub, name, help, example).add_subparsers(dest="action", required=True)


def add_command(sub, name: str, help: str, example: str, handler: Callable[[argparse.Namespace], int],
                **kwargs) -> argparse.ArgumentParser:
    """``mm-train [GROUP] NAME ...`` run by ``handler(args)``: returns the parser to add the arguments to."""
    parser = _parser(sub, name, help, example, **kwargs)
    parser.set_defaults(func=handler)
    return parser
