"""The README's main job: the quickstart recipe trains on the bundled digits to >= 95%."""
import pytest

from helpers import read_metrics, run_main


@pytest.mark.slow   # the whole recipe: 10 epochs on the digits
def test_quickstart_reaches_95_percent(tmp_path):
    result = run_main("+recipe=quickstart", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stdout + result.stderr
    metrics = read_metrics(tmp_path)
    assert metrics["final"]["acc"] >= 0.95
    assert set(metrics["final"]) >= {"acc", "loss"}
    assert [entry["epoch"] for entry in metrics["history"]] == list(range(1, 11))
    assert metrics["history"][-1]["acc"] == metrics["final"]["acc"]
    assert (tmp_path / "config.yaml").is_file()
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("*.ckpt"))[-1] == "quickstart-10_44.ckpt"   # sorts
    assert "eval: epoch=10" in result.stdout
