"""User errors from ``python run.py``: one clear message, exit code 2, no traceback.

One table of commands and the text their message must hold (as Hydra's tests/test_hydra_cli_errors.py).
A ``{tmp}`` in an override is the test's temp dir; ``recipe_files`` are written into ``{tmp}/recipes``,
which is then on MM_TRAIN_RECIPE_PATH.
"""
import pytest

from helpers import ROOT, assert_user_error, cli_main, run_main

TYPO_RECIPE = "# @package _global_\ndefaults:\n  - quickstart\n  - _self_\ntrain:\n  epochz: 3\n"

CASES = [
    pytest.param([], {}, ["no recipe chosen", "+recipe=NAME", "quickstart", "resnet50_cifar"], id="no-recipe"),
    pytest.param(["+recipe=quickstrat"], {}, ["no recipe named 'quickstrat'", "Did you mean 'quickstart'?"],
                 id="unknown-recipe"),
    pytest.param(["+recipe=quickstart", "network.layers.conv1.type=ConvBNRelu"], {},
                 ["network.layers.conv1.type: unknown block 'ConvBNRelu'", "Did you mean 'ConvBNReLU'"],
                 id="unknown-block"),
    pytest.param(["+recipe=quickstart", "trian.epochs=3"], {}, ["trian: unknown key", "Did you mean 'train'?"],
                 id="unknown-top-level-key"),
    pytest.param(["+recipe=quickstart", "+optimiser.lr=3"], {},
                 ["optimiser: unknown top-level key", "Did you mean 'optimizer'"], id="unknown-key-added-with-plus"),
    pytest.param(["+recipe=typo"], {"typo.yaml": TYPO_RECIPE},
                 ["train.epochz: unknown key", "Did you mean 'epochs'?"], id="unknown-key-in-a-recipe-file"),
    pytest.param(["+recipe=quickstart", "device=ascend"], {},
                 ["device: this MindSpore build cannot run on Ascend", "CPU"], id="device-this-build-lacks"),
    pytest.param(["+recipe=quickstart", "device=cpuu"], {}, ["no device named 'cpuu'", "Did you mean 'cpu'"],
                 id="unknown-device-option"),
]


@pytest.mark.parametrize("overrides, recipe_files, fragments", CASES)
def test_run_py_reports_user_errors(overrides, recipe_files, fragments, tmp_path):
    env = {}
    if recipe_files:
        folder = tmp_path / "recipes"
        folder.mkdir()
        for name, text in recipe_files.items():
            (folder / name).write_text(text)
        env["MM_TRAIN_RECIPE_PATH"] = str(folder)
    run_dir = tmp_path / "run"
    if overrides:
        overrides = [*overrides, f"hydra.run.dir={run_dir}"]
    assert_user_error(run_main(*overrides, env=env), *fragments)
    assert not (run_dir / "metrics.json").exists()


# What the user sees for each trap, as (command, exit code, fragments of the message).
# "run" is python run.py, "cli" is mm-train; RUN_DIR is replaced by a fresh run directory.
TRAPS = [
    # 2. keys a recipe lacks: the message gives the +KEY=VALUE that works
    ("run", ["+recipe=quickstart", "optimizer.nesterov=true"], 2,
     ["optimizer.nesterov: not in this recipe; add it with +optimizer.nesterov=true"]),
    ("run", ["+recipe=quickstart", "optimizer.clip_grad_norm=1.0"], 2,
     ["optimizer.clip_grad_norm: not in this recipe; add it with +optimizer.clip_grad_norm=1.0"]),
    ("run", ["+recipe=quickstart", "dataset.train.limit=1000"], 2,
     ["dataset.train.limit: not in this recipe; add it with +dataset.train.limit=1000"]),
    # 5. raw Python errors become the key and what was expected
    ("run", ["+recipe=quickstart", "lr_schedule.lr_max=abc"], 2, ["lr_schedule.lr_max: got 'abc' (expected a finite number)"]),
    ("run", ["+recipe=quickstart", "lr_schedule.warmup_epochs=abc"], 2,
     ["lr_schedule.warmup_epochs: got 'abc' (expected a finite number)"]),
    ("run", ["+recipe=quickstart", "optimizer.momentum=fast"], 2, ["optimizer.momentum: got 'fast' (expected a number in [0, 1))"]),
    # 6. garbage is not accepted
    ("run", ["+recipe=quickstart", "loss.sparse=maybe"], 2, ["loss.sparse: got 'maybe' (expected true or false)"]),
    ("run", ["+recipe=quickstart", "dataset.train.shuffle=maybe"], 2,
     ["dataset.train.shuffle: got 'maybe' (expected true or false)"]),
    # 7. mm-train launch checks the config before msrun starts
    ("cli", ["launch", "--nproc", "2", "--", "+recipe=quickstart", "device=gpu"], 2,
     ["error: device: this MindSpore build cannot run on GPU"]),
    ("cli", ["launch", "--nproc", "2", "--", "+recipe=quickstrt"], 2,
     ["no recipe named 'quickstrt'", "Did you mean 'quickstart'?"]),
    # 10. epochs=3 points at train.epochs
    ("run", ["+recipe=quickstart", "epochs=3"], 2, ["epochs: unknown top-level key", "'train.epochs=3'"]),
]


@pytest.mark.parametrize("kind, args, code, fragments", TRAPS, ids=[" ".join(row[1][-2:]) for row in TRAPS])
def test_each_trap_is_one_message_naming_the_key(kind, args, code, fragments, tmp_path):
    if kind == "run":
        result = run_main(*args, f"hydra.run.dir={tmp_path / 'run'}")
    else:
        result = cli_main(*args, cwd=tmp_path)
    assert_user_error(result, *fragments)
    assert "msrun" not in result.stdout + result.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()


# Every suggestion above, pasted: the command it names works.
PASTED = [
    ["+recipe=quickstart", "loss_scale.type=dynamic", "+loss_scale.cpu_fallback=fixed"],
    ["+recipe=quickstart", "+optimizer.clip_grad_norm=1.0"],
    ["+recipe=quickstart", "+dataset.train.limit=1000"],
    ["+recipe=quickstart", "train.epochs=3"],
    ["+recipe=quickstart", "loss_scale.type=dynamic", "++loss_scale.cpu_fallback=fixed"],   # amp's message
    ["+recipe=quickstart", "++optimizer.clip_grad_norm=1.0"],                             # the divergence message
]


@pytest.mark.parametrize("args", PASTED, ids=[a[-1] for a in PASTED])
def test_each_suggestion_works_when_pasted(args, tmp_path):
    result = run_main(*args, "task=summary", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr


def test_a_copied_recipe_is_used_and_says_what_it_shadows(tmp_path):
    copied = cli_main("recipes", "cp", "resnet50_cifar", "team_a/", cwd=tmp_path)
    team = (tmp_path / "team_a").resolve()
    assert f"run it with: MM_TRAIN_RECIPE_PATH={team} mm-train run +recipe=resnet50_cifar" in copied.stdout
    mine = team / "resnet50_cifar.yaml"
    mine.write_text(mine.read_text().replace("# @package _global_\n", "# @package _global_\n# my copy\n", 1)
                    + "seed: 7\n")
    env = {"MM_TRAIN_RECIPE_PATH": str(team)}
    shown = cli_main("recipes", "show", "resnet50_cifar", env=env)
    assert shown.stdout.startswith(f"# recipe resnet50_cifar: {mine} (shadows {ROOT / 'recipes' / 'resnet50_cifar.yaml'})")
    assert "seed: 7" in shown.stdout
    listed = cli_main("recipes", "ls", env=env)
    assert "my copy" in listed.stdout and f"from {mine} shadows" in listed.stderr
    ran = run_main("+recipe=resnet50_cifar", "task=summary", f"hydra.run.dir={tmp_path / 'run'}", env=env)
    assert ran.returncode == 0, ran.stderr
    assert f"recipe resnet50_cifar: {mine} (shadows" in ran.stdout.splitlines()[0]
    assert "seed: 7" in (tmp_path / "run" / "config.yaml").read_text()


def test_a_child_recipe_that_retypes_the_loss_replaces_the_parents_arguments(tmp_path):
    (tmp_path / "smooth.yaml").write_text("# @package _global_\ndefaults:\n  - quickstart\n  - _self_\n"
                                          "loss: {type: CrossEntropyLoss, label_smoothing: 0.1}\n")
    result = run_main("+recipe=smooth", "task=summary", f"hydra.run.dir={tmp_path / 'run'}",
                    env={"MM_TRAIN_RECIPE_PATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    config = (tmp_path / "run" / "config.yaml").read_text()
    assert "label_smoothing: 0.1" in config and "sparse" not in config


@pytest.mark.slow   # converts the 20,000 CIFAR records of the README's commands
def test_the_readme_data_commands_chain(tmp_path, cifar_dir):
    data = tmp_path / "data"
    for usage, name, shards in (("train", "train", ["--shards", "4"]), ("test", "test", [])):
        done = cli_main("data", "convert", "cifar10", str(cifar_dir), f"data/cifar10_mindrecord/{name}.mindrecord",
                            "--usage", usage, *shards, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    readme = (ROOT / "README.md").read_text()
    assert "data/cifar10_mindrecord/train.mindrecord --usage train --shards 4" in readme
    assert "data/cifar10_mindrecord/test.mindrecord --usage test" in readme
    ran = run_main("+recipe=cifar10_mindrecord", "debug=fast", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert data.is_dir()


def test_a_finished_run_says_where_and_what(tmp_path):
    result = run_main("+recipe=quickstart", "train.epochs=1", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    tail = result.stdout.strip().splitlines()[-3:]
    assert tail[0].startswith("final metrics: acc=") and ", loss=" in tail[0]
    assert tail[1] == f"last checkpoint: {tmp_path / 'checkpoints' / 'quickstart-1_44.ckpt'}"
    assert tail[2] == f"run directory: {tmp_path}"
    log = (tmp_path / "run.log").read_text()
    assert "recipe quickstart:" in log and tail[0] in log and "loss is" in log


@pytest.mark.slow   # the point is a real pipe closed by a real process
@pytest.mark.parametrize("args", [["blocks", "ls"], ["recipes", "ls"]])
def test_a_pipe_closed_early_ends_quietly(args):
    import subprocess
    import sys
    result = subprocess.run(f"{sys.executable} -m mm_train.commands {' '.join(args)} | head -1", shell=True,
                            capture_output=True, text=True, cwd=ROOT, timeout=300,
                            env={**__import__('os').environ, "PYTHONPATH": str(ROOT)})
    assert result.stdout.count("\n") == 1 and result.stderr == "", result.stderr


def test_an_unclosed_bracket_gets_no_hint_about_interpolations(tmp_path):
    (tmp_path / "broken.yaml").write_text("# @package _global_\ntrain: {epochs: [1\n")
    result = run_main("+recipe=broken", env={"MM_TRAIN_RECIPE_PATH": str(tmp_path)})
    assert_user_error(result, "not valid YAML")
    assert "${" not in result.stderr


def test_a_failed_download_leaves_no_folder(tmp_path):
    result = cli_main("data", "download", "cifar10", "--dest", str(tmp_path / "data"),
                          "--url", "http://127.0.0.1:9/cifar.tar.gz", "--md5", "0" * 32)
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "data").exists()


def test_run_log_also_holds_the_error_that_ended_the_run(tmp_path):
    result = run_main("+recipe=quickstart", "task=eval", f"hydra.run.dir={tmp_path}")
    assert_user_error(result, "init_from: task=eval needs weights")
    assert "error: init_from: task=eval needs weights" in (tmp_path / "run.log").read_text()
