"""Blocks from another package through the ``mm_train.blocks`` entry-point group."""
from __future__ import annotations

import re
import sys
import textwrap
from importlib.metadata import EntryPoint

import pytest

from helpers import install_package, mm_train_cli, run_py
from mm_train.core.errors import ConfigError

PACKAGE = "mm-train-demo-blocks"
FILES = {
    "setup.cfg": """
        [metadata]
        name = mm-train-demo-blocks
        version = 0.1

        [options]
        py_modules = demo_blocks, demo_blocks_more

        [options.entry_points]
        mm_train.blocks =
            ChannelScale = demo_blocks:channel_scale
            demo_more = demo_blocks_more
    """,
    "demo_blocks.py": '''
        """A learned scale per channel: x * scale."""
        import numpy as np
        from mindspore import Parameter, Tensor, nn


        class ChannelScaleCell(nn.Cell):
            def __init__(self, channels, init):
                super().__init__()
                self.scale = Parameter(Tensor(np.full((channels, 1, 1), init, np.float32)), name="scale")

            def construct(self, x):
                return x * self.scale


        def channel_scale(in_shape, init=1.0):
            return ChannelScaleCell(in_shape[0], init), tuple(in_shape)
    ''',
    "demo_blocks_more.py": '''
        """A module whose import registers a block."""
        from mindspore import nn

        from mm_train.registry import BLOCKS


        @BLOCKS.register("HalfTanh")
        def half_tanh(in_shape):
            return nn.Tanh(), tuple(in_shape)
    ''',
}

RECIPE = """# @package _global_
# LeNet with two plugin blocks
defaults:
  - lenet_digits
  - _self_
network:
  layers:
    relu1: {type: ChannelScale, init: 0.5}
    relu2: {type: HalfTanh}
"""


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory):
    installed = install_package(tmp_path_factory.mktemp("plugin_src"), FILES, PACKAGE)
    next(installed)
    recipes = tmp_path_factory.mktemp("plugin_recipes")
    (recipes / "lenet_plugin.yaml").write_text(RECIPE)
    yield recipes
    next(installed, None)


@pytest.mark.slow
def test_installed_plugin_blocks_are_usable_from_a_recipe(installed_plugin, tmp_path):
    env = {"MM_TRAIN_RECIPE_PATH": str(installed_plugin)}
    listed = mm_train_cli("blocks", "ls", "--kind", "block", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "  ChannelScale(init=1.0)" in listed.stdout and "  HalfTanh()" in listed.stdout

    summary = run_py("+recipe=lenet_plugin", "task=summary", f"hydra.run.dir={tmp_path / 's'}", env=env)
    assert summary.returncode == 0, summary.stderr[-3000:]
    row = re.split(r"\s{2,}", next(l for l in summary.stdout.splitlines() if l.startswith("relu1 ")).strip())
    assert row == ["relu1", "ChannelScale", "(6, 28, 28)", "6"]
    assert summary.stdout.rstrip().endswith("Total params: 61,690")   # LeNet's 61,684 + 6 scales

    check = run_py("+recipe=lenet_plugin", "task=check", f"hydra.run.dir={tmp_path / 'c'}", env=env)
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
    assert "check passed: all 14 parts" in check.stdout


@pytest.fixture
def fake_plugins(monkeypatch, tmp_path):
    """Entry points (real EntryPoint objects) pointing to modules written into tmp_path."""
    from mm_train.nn import plugins
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plugins, "_loaded", set())

    def install(modules: dict[str, str], entry_points: list[tuple[str, str]]):
        for name, text in modules.items():
            (tmp_path / f"{name}.py").write_text(textwrap.dedent(text))
            monkeypatch.delitem(sys.modules, name, raising=False)
        found = [EntryPoint(name=n, value=v, group=plugins.GROUP) for n, v in entry_points]
        monkeypatch.setattr(plugins, "_entry_points", lambda: found)
    return install


def test_a_plugin_factory_taking_a_taken_name_is_an_error_naming_both(fake_plugins):
    from mm_train.nn.builder import load_blocks
    fake_plugins({"dup_factory": "def conv_bn_relu(in_shape, out_channels):\n    raise AssertionError\n"},
                 [("ConvBNReLU", "dup_factory:conv_bn_relu")])
    with pytest.raises(ConfigError) as info:
        load_blocks()
    assert str(info.value) == (
        "entry point 'ConvBNReLU = dup_factory:conv_bn_relu' (group mm_train.blocks): block 'ConvBNReLU' is "
        "registered twice: by mm_train.nn.blocks.conv_bn_relu and by dup_factory.conv_bn_relu "
        "(expected a block name not taken by mm_train or another plugin)")


def test_a_plugin_module_registering_a_taken_name_is_an_error_naming_both(fake_plugins):
    from mm_train.nn.builder import load_blocks
    fake_plugins({"dup_module": """
        from mm_train.registry import BLOCKS

        @BLOCKS.register("Stage")
        def my_stage(in_shape):
            return None, in_shape
    """}, [("team", "dup_module")])
    with pytest.raises(ConfigError) as info:
        load_blocks()
    assert str(info.value) == ("entry point 'team = dup_module' (group mm_train.blocks): block 'Stage' is "
                               "registered twice: by mm_train.nn.blocks.stage and by dup_module.my_stage")
