"""Recipe folders declared by installed packages (entry-point group ``mm_train.config.recipes``)."""
import pytest

from helpers import install_package, mm_train_cli, read_metrics, run_py

PACKAGE = "mm-train-team-b-recipes"
FILES = {
    "setup.cfg": """
        [metadata]
        name = mm-train-team-b-recipes
        version = 0.1

        [options]
        packages = team_b_recipes

        [options.package_data]
        team_b_recipes = *.yaml

        [options.entry_points]
        mm_train.config.recipes =
            team_b = team_b_recipes
    """,
    "team_b_recipes/__init__.py": '"""Team B\'s recipes."""\n',
    "team_b_recipes/quick_narrow.yaml": """
        # @package _global_
        # Team B's narrow quickstart.
        defaults:
          - /recipe/quickstart@_here_
          - _self_
        network:
          layers:
            conv1: {type: ConvBNReLU, out_channels: 8, kernel_size: 3}
    """,
}


@pytest.fixture(scope="module")
def team_b_installed(tmp_path_factory):
    yield from install_package(tmp_path_factory.mktemp("team_b_src"), FILES, PACKAGE)


@pytest.mark.slow   # pip-installs a package: entry points are read once per process
def test_installed_package_recipes_are_listed_and_run_namespaced(team_b_installed, tmp_path):
    listing = mm_train_cli("recipes", "ls")
    line = next(line for line in listing.stdout.splitlines() if line.startswith("team_b/quick_narrow"))
    assert "package:team_b_recipes" in line and "Team B's narrow quickstart." in line
    result = run_py("+recipe=team_b/quick_narrow", "debug=fast", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    assert "out_channels: 8" in (tmp_path / "config.yaml").read_text()
    assert read_metrics(tmp_path)["history"][0]["step"] == 4
