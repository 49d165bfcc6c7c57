"""``mm-train weights convert`` and ``mm-train parity`` (added to the CLI by ``add_commands``)."""
from __future__ import annotations

import gc

from mm_train.device import set_environment
from mm_train.errors import ConfigError


def convert_command(args) -> int:
    set_environment()
    from mm_train.migrate.rules import builtin_rules
    from mm_train.migrate.weights import convert_weights, import_weights, save_converted

    if args.list_rules:
        from mm_train.migrate.rules import load_rules
        for name in builtin_rules():
            print(f"{name:<20} {load_rules(name).description}")
        return 0
    if not args.src or not args.dest:
        raise ConfigError("SRC DST", "missing", expected="mm-train weights convert SRC DST.ckpt --rules NAME|FILE")
    from mm_train import init_from
    spec = {"path": args.src, "allow": args.allow}
    if args.format:
        spec["format"] = args.format
    if args.rules:
        spec["rules"] = args.rules
    if args.strip_prefix:
        spec["rules"] = {**({"extends": args.rules} if args.rules else {}), "strip_prefix": args.strip_prefix}
    network, weight_rules = None, None
    if args.recipe:
        from mm_train.jobs import open_job
        config = open_job(args.recipe, args.overrides).config
        network, _ = init_from.recipe_network(config)     # SRC is its weights (the recipe's init_from is not loaded)
        weight_rules = init_from.weight_rules(config)     # the recipe's network.weight_rules, as init_from uses them
    spec = init_from.parse(spec, where="SRC", default_rules=weight_rules)
    if network is not None:
        report = import_weights(network, spec, where="SRC")     # raises with every problem listed
        converted = None
        print(report.text(matched=not args.quiet))
    else:
        converted, report = convert_weights(spec, None, where="SRC")
        if not args.quiet:
            for name, source in converted.origin.items():
                print(f"  {name:<48} <- {source}  {list(converted.weights[name].shape)}")
        for source in converted.dropped:
            print(f"  dropped:  {source}")
        for source, bn in converted.folded:
            print(f"  folded:   {source} into {bn}.moving_mean")
        print(f"converted {len(converted.weights)} tensors (no --recipe: names are not checked against a network)")
    count = save_converted(converted, network, args.dest)
    print(f"wrote {count} parameters to {args.dest}")
    return 0


def parity_argv(args) -> list[str]:
    """``args`` as the ``mm-train parity`` arguments that give them (for the child process)."""
    argv = ["parity", *args.overrides, "--input", args.input, "--expected", args.expected]
    for flag, value in (("--expected64", args.expected64), ("--atol", args.atol), ("--rtol", args.rtol)):
        if value is not None:
            argv += [flag, str(value)]
    return argv + (["--nhwc"] if args.nhwc else [])


def parity_command(args) -> int:
    set_environment()
    from mm_train.inference_child import RunInChild, run_child
    from mm_train.migrate.parity import run_parity

    recipes = [o for o in args.overrides if o.startswith("+recipe=")]
    if len(recipes) != 1:
        raise ConfigError("+recipe", "choose one recipe", expected="mm-train parity +recipe=NAME init_from=... "
                          "--input x.npy --expected y.npy")
    overrides = [o for o in args.overrides if o not in recipes]
    try:
        result = run_parity(recipes[0].split("=", 1)[1], overrides, args.input, args.expected, args.nhwc,
                            args.atol, args.rtol, args.expected64, child_if_unsure=True)
    except RunInChild as err:   # graph mode the estimate cannot vouch for: in a child, a kernel kill gets one line
        unsure = RunInChild(err.params, err.available)      # without the traceback: this network is freed
    else:
        print(result.text())
        return 0 if result.passed else 1
    gc.collect()
    return run_child(parity_argv(args), "parity", unsure)


def add_commands(sub, add) -> None:
    """Add ``weights convert``, ``parity`` and ``migrate onnx`` to the CLI's subparsers ``sub`` (``add``: cli._add)."""
    import argparse

    from mm_train.migrate.onnx.convert import add_command as add_migrate_onnx
    add_migrate_onnx(sub, add)

    weights = sub.add_parser("weights", help="import PyTorch / TensorFlow / MindSpore weights",
                             description="import PyTorch / TensorFlow / MindSpore weights\n\nexample:\n  mm-train "
                             "weights convert r18.safetensors r18.ckpt --rules torchvision_resnet "
                             "--recipe resnet18_torchvision",
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    convert = add(weights.add_subparsers(dest="action", required=True), "convert",
                  "convert a weight file (.safetensors, .pt/.pth, .npz, .h5, .keras, .ckpt) to a MindSpore checkpoint by "
                  "mapping rules; with --recipe, every network parameter must match (exit 2 otherwise)",
                  "mm-train weights convert r18.pth r18.ckpt --rules torchvision_resnet --recipe resnet18_torchvision "
                  "--override dataset.num_classes=10 --allow 'fc.*'", convert_command)
    convert.add_argument("src", nargs="?", help="the source weight file")
    convert.add_argument("dest", nargs="?", help="the MindSpore .ckpt to write")
    convert.add_argument("--rules", help="a built-in rule set (see --list-rules) or a YAML rules file "
                         "(default: --recipe's network.weight_rules, else by format: torch, keras; none for .ckpt)")
    convert.add_argument("--strip-prefix", action="append", default=[], metavar="PREFIX",
                         help="remove PREFIX from the start of every source name first, e.g. module. (DataParallel) "
                              "or model. (Lightning); repeatable")
    convert.add_argument("--format", choices=("torch", "tf", "mindspore"), help="the source framework (default: "
                         "from the suffix)")
    convert.add_argument("--recipe", help="check and load into this recipe's network; DST then holds its every "
                         "parameter (loads with init_from=DST)")
    convert.add_argument("--override", dest="overrides", action="append", default=[],
                         help="a key=value override for --recipe (repeatable)")
    convert.add_argument("--allow", action="append", default=[], metavar="PATTERN",
                         help="glob of keys that may be missing, unexpected or of another shape (repeatable), "
                              "e.g. 'fc.*' for a new head")
    convert.add_argument("--quiet", action="store_true", help="do not list every matched parameter")
    convert.add_argument("--list-rules", action="store_true", help="list the built-in rule sets and exit")

    parity = add(sub, "parity", "run a recipe's network (inference mode) on an input and compare with the source "
                 "framework's output; exit 1 above 32 x the float32 floor",
                 "mm-train parity +recipe=resnet18_torchvision 'init_from={path: r18.pth, rules: torchvision_resnet}' "
                 "--input x.npy --expected y.npy", parity_command)
    parity.add_argument("overrides", nargs="+", help="+recipe=NAME and key=value overrides (init_from=...)")
    parity.add_argument("--input", required=True, help="the input batch, .npy (NCHW unless --nhwc)")
    parity.add_argument("--expected", required=True, help="the source framework's output for it, .npy")
    parity.add_argument("--expected64", help="the source framework's output for the same input and weights in "
                        "float64 (model.double()), .npy: the verdict then judges against its float32 floor "
                        "max|expected64 - expected| (default: the floor measured on the MindSpore network itself)")
    parity.add_argument("--nhwc", action="store_true", help="the input is channels-last (TensorFlow): transpose it")
    parity.add_argument("--atol", type=float, default=None, help="elementwise absolute tolerance (default: "
                        "max|diff| <= 32 x the float32 floor)")
    parity.add_argument("--rtol", type=float, default=None, help="elementwise relative tolerance (with --atol; "
                        "default: the float32 tolerance)")
