"""task=predict: a quickstart checkpoint (and its exported MINDIR) labels PNG files of the bundled digits."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from helpers import assert_user_error, run_main, write_digit_pngs
from training_helpers import compose

def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A quickstart run (4 epochs on all the digits) and its checkpoint, the exported MINDIR, and the PNGs."""
    from mm_train.jobs import execute
    root = tmp_path_factory.mktemp("predict")
    execute(compose("train.epochs=4", "callbacks=[{type: ModelCheckpoint}]"), root / "run", "quickstart")
    checkpoint = sorted((root / "run" / "checkpoints").glob("quickstart-4_*.ckpt"))[-1]
    execute(compose("task=export", f"init_from={checkpoint}", "export.batch_size=8"), root / "export", "quickstart")
    count = write_digit_pngs(root / "digits")
    return {"ckpt": checkpoint, "mindir": root / "export" / "model.mindir", "digits": root / "digits",
            "count": count, "root": root}


@pytest.mark.slow
def test_predict_a_folder_of_class_folders_agrees_with_the_folder_names(trained, tmp_path):
    result = run_main("+recipe=quickstart", "task=predict", f"init_from={trained['ckpt']}",
                    f"predict.input={trained['digits']}", "predict.top_k=3", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = read_csv(tmp_path / "predictions.csv")
    files = sorted(str(p.relative_to(trained["digits"])) for p in trained["digits"].rglob("*.png"))
    assert sorted(r["file"] for r in rows) == files and len(rows) == trained["count"]
    assert list(rows[0]) == ["file", "label", "score", "top1_label", "top1_score", "top2_label", "top2_score",
                             "top3_label", "top3_score", "folder"]
    agree = np.mean([r["label"] == r["file"].split("/")[0] for r in rows])
    assert agree >= 0.95
    for r in rows:
        assert r["label"] == r["top1_label"] and float(r["score"]) >= float(r["top2_score"]) >= float(r["top3_score"])
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["final"]["acc"] == pytest.approx(agree, abs=1e-9)
    assert f"predict: accuracy {agree:.4f} on {len(rows)} images in 10 class folders" in result.stdout

    # the exported MINDIR (batch 8) gives the same labels
    deployed = tmp_path / "mindir"
    result = run_main("+recipe=quickstart", "task=predict", f"predict.model={trained['mindir']}",
                    f"predict.input={trained['digits']}", f"hydra.run.dir={deployed}")
    assert result.returncode == 0, result.stderr[-3000:]
    from_mindir = {r["file"]: r["label"] for r in read_csv(deployed / "predictions.csv")}
    assert from_mindir == {r["file"]: r["label"] for r in rows}


def test_predict_one_file_with_class_names_and_top_k_capped(trained, tmp_path):
    from mm_train.jobs import execute
    image = sorted(trained["digits"].rglob("*.png"))[0]
    names = "[zero, one, two, three, four, five, six, seven, eight, nine]"
    assert execute(compose("task=predict", f"init_from={trained['ckpt']}", f"predict.input={image}",
                           "predict.top_k=50", f"+dataset.classes={names}"), tmp_path, "quickstart") is None
    (row,) = read_csv(tmp_path / "predictions.csv")
    assert row["file"] == image.name and row["label"] in names
    assert "top10_label" in row and "top11_label" not in row and "folder" not in row
    assert sum(float(row[f"top{j}_score"]) for j in range(1, 11)) == pytest.approx(1.0, abs=1e-4)
    assert not (tmp_path / "metrics.json").exists()


def test_bad_predict_inputs_are_one_message_naming_the_file(trained, tmp_path):
    ckpt = f"init_from={trained['ckpt']}"
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_main("+recipe=quickstart", "task=predict", ckpt, f"predict.input={empty}", f"hydra.run.dir={tmp_path}/a")
    assert_user_error(result, "predict.input: no JPEG or PNG images in", str(empty))

    broken = tmp_path / "broken"
    write_digit_pngs(broken, limit=5)
    bad = sorted(broken.iterdir())[0] / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    result = run_main("+recipe=quickstart", "task=predict", ckpt, f"predict.input={broken}", f"hydra.run.dir={tmp_path}/b")
    assert_user_error(result, f"predict.input: cannot decode {bad}")

    from PIL import Image
    big = tmp_path / "big.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(big)
    result = run_main("+recipe=quickstart", "task=predict", ckpt, f"predict.input={big}", f"hydra.run.dir={tmp_path}/c")
    assert_user_error(result, f"predict.input: {big}: shape (3, 16, 16) after the eval transforms; "
                      "the network takes (3, 8, 8)")

    result = run_main("+recipe=quickstart", "task=predict", f"predict.input={big}", f"hydra.run.dir={tmp_path}/d")
    assert_user_error(result, "init_from: task=predict needs weights")
    result = run_main("+recipe=quickstart", "task=predict", ckpt, "predict.top_k=0", f"hydra.run.dir={tmp_path}/e")
    assert_user_error(result, "predict.top_k: got 0")


def test_an_rgb_image_for_a_one_channel_network_names_the_channels(trained, tmp_path):
    """A greyscale model (input_shape [1, 8, 8]) given the digits, which decode to RGB as in training."""
    import mindspore as ms

    from mm_train.core.errors import ConfigError
    from mm_train.nn.builder import build_network
    from mm_train.jobs import execute

    grey = ("network.input_shape=[1,8,8]",)
    network, _ = build_network(compose(*grey)["network"])
    ms.save_checkpoint(network, str(tmp_path / "grey.ckpt"))
    image = sorted(trained["digits"].rglob("*.png"))[0]
    with pytest.raises(ConfigError, match=rf"predict.input: {image}: 3 channels after the eval transforms; "
                                          r"the network takes 1"):
        execute(compose(*grey, "task=predict", f"init_from={tmp_path / 'grey.ckpt'}", f"predict.input={image}"),
                tmp_path / "run", "quickstart")
