"""Resume: SIGKILL mid-epoch, then resume=auto, ends with the weights of an uninterrupted run."""
from __future__ import annotations


import numpy as np
import pytest

from helpers import assert_user_error, run_main
from training_helpers import run_killed_at, weights

# quickstart on 64 shuffled digits, batch 16: 4 steps an epoch, 3 epochs; a checkpoint every 3 steps
# (steps 3, 6, 9, 12: most of them mid-epoch) and at the end of each epoch.
# The random flip makes the data differ unless the resumed run replays the augmentation too.
TRANSFORMS = "[{type: Rescale, rescale: 0.00392156862745098, shift: 0.0}, {type: HWC2CHW}]"
RUN = ("+recipe=quickstart", "+dataset.train.limit=64", "dataset.train.batch_size=16",
       "+dataset.eval.limit=32", "train.epochs=3", "device.mode=graph", "seed=7",
       f"dataset.train.transforms=[{{type: RandomHorizontalFlip}}, {TRANSFORMS[1:]}",
       f"dataset.eval.transforms={TRANSFORMS}",
       "callbacks=[{type: ModelCheckpoint, save_checkpoint_steps: 3, keep_checkpoint_max: 10}]")



@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_auto_matches_uninterrupted_run(tmp_path):
    whole = tmp_path / "whole"
    done = run_main(*RUN, f"hydra.run.dir={whole}")
    assert done.returncode == 0, done.stderr[-3000:]

    broken = tmp_path / "broken"
    # step 7 = epoch 2, step 3 of 4; the newest checkpoint is then step 6 (epoch 2, step 2: mid-epoch)
    killed = run_killed_at(7, *RUN, f"hydra.run.dir={broken}")
    assert killed.returncode == -9, killed.stderr[-3000:]
    names = sorted(p.name for p in (broken / "checkpoints").glob("*.ckpt"))
    assert names == ["quickstart-1_3.ckpt", "quickstart-2_2.ckpt"], names

    resumed = run_main(*RUN, f"hydra.run.dir={broken}", "resume=auto")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "quickstart-2_2.ckpt (epoch 1, step 6)" in resumed.stdout

    final_whole = weights(whole / "checkpoints" / "quickstart-3_4.ckpt")
    final_resumed = weights(broken / "checkpoints" / "quickstart-3_4.ckpt")
    assert final_whole.keys() == final_resumed.keys()
    for key, value in final_whole.items():
        np.testing.assert_allclose(final_resumed[key], value, rtol=0, atol=1e-6, err_msg=key)
    assert int(final_resumed["step_num"]) == 12 and int(final_resumed["global_step"]) == 12
    # train longer: resume=auto from the end, with a schedule for 4 epochs
    longer = run_main(*(a.replace("epochs=3", "epochs=4") for a in RUN), f"hydra.run.dir={broken}", "resume=auto")
    assert longer.returncode == 0, longer.stderr[-3000:]
    assert "quickstart-3_4.ckpt (epoch 3, step 12)" in longer.stdout
    assert int(weights(broken / "checkpoints" / "quickstart-4_4.ckpt")["step_num"]) == 16
    # curves.png of the resumed run draws every step's loss: the killed run's up to its checkpoint, then the rest
    rows = (broken / "train_loss.csv").read_text().splitlines()
    assert rows[0] == "step,loss" and [int(r.split(",")[0]) for r in rows[1:]] == list(range(1, 17))


def test_resume_from_a_missing_file_is_a_user_error(tmp_path):
    result = run_main("+recipe=quickstart", f"resume={tmp_path}/nope.ckpt", f"hydra.run.dir={tmp_path}/run")
    assert_user_error(result, "resume: checkpoint not found", "nope.ckpt")


def test_checkpoints_are_written_atomically(tmp_path, monkeypatch):
    import mindspore as ms
    from mindspore import nn

    from mm_train.runtime.checkpoints import checkpoint_files, save_atomic

    net = nn.Dense(3, 2)
    folder = tmp_path / "checkpoints"
    good = save_atomic(net, folder / "run-1_4.ckpt", {"epoch_num": 1, "step_num": 4})
    before = good.read_bytes()

    def crash(cell, path, append_dict=None):   # dies half-way through writing
        with open(path, "wb") as f:
            f.write(before[:100])
        raise KeyboardInterrupt

    monkeypatch.setattr(ms, "save_checkpoint", crash)
    with pytest.raises(KeyboardInterrupt):
        save_atomic(net, folder / "run-2_4.ckpt", {"epoch_num": 2, "step_num": 8})
    monkeypatch.undo()
    assert [p.name for p in checkpoint_files(folder)] == ["run-1_4.ckpt"]      # the half file is hidden
    assert int(ms.load_checkpoint(str(checkpoint_files(folder)[-1]))["step_num"].asnumpy()) == 4


def test_resume_replay_must_be_exact_or_fast():
    from mm_train.core.errors import ConfigError
    from mm_train.tasks.training import replay_data
    with pytest.raises(ConfigError, match=r"resume_replay: got 'exakt'.*Did you mean 'exact'"):
        replay_data(None, 4, "exakt")
