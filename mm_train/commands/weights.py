"""``mm-train weights convert SRC DST``: another framework's weights as a MindSpore checkpoint, by mapping rules.

    mm-train weights convert r18.pth r18.ckpt --rules torchvision_resnet --recipe resnet18_torchvision
    mm-train weights convert --list-rules
"""
from __future__ import annotations

from mm_train.commands.parsers import add_command, add_group
from mm_train.core.device import set_environment
from mm_train.core.errors import ConfigError


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
    from mm_train.assembly import init_from
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


def add_to(sub) -> None:
    actions = add_group(sub, "weights", "import PyTorch / TensorFlow / MindSpore weights",
                        "mm-train weights convert r18.safetensors r18.ckpt --rules torchvision_resnet "
                        "--recipe resnet18_torchvision")
    convert = add_command(actions, "convert",
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
