"""debug=overfit judges memorisation by the accuracy on the batch and by the loss floor of the loss function
(label smoothing), not by a fixed 0.05."""
from __future__ import annotations

import pytest

from mm_train.runtime.debug import loss_floor, overfit_verdict
from mm_train.core.errors import NetworkCannotLearn
from training_helpers import train


def test_label_smoothing_sets_a_loss_floor():
    floor, why = loss_floor({"type": "CrossEntropyLoss", "label_smoothing": 0.1}, 10)
    assert floor == pytest.approx(0.5003, abs=1e-4)
    assert why == "label smoothing 0.1 over 10 classes keeps the loss above 0.500"
    assert loss_floor({"type": "SoftmaxCrossEntropyWithLogits", "sparse": True}, 10) == (0.0, "")


def test_a_memorised_batch_with_label_smoothing_is_learnt():
    learnt, verdict = overfit_verdict([2.318, 0.9, 0.54, 0.5226], 0.05,
                                      loss_floor({"label_smoothing": 0.1}, 10), accuracy=1.0)
    assert learnt
    assert verdict == ("overfit: the network can learn: on one repeated batch the loss fell from 2.318 to 0.5226 "
                       "(label smoothing 0.1 over 10 classes keeps the loss above 0.500) and the accuracy on it is 1")


def test_a_loss_stuck_above_its_floor_cannot_learn():
    learnt, verdict = overfit_verdict([2.3, 2.2, 2.1, 2.0], 0.05, loss_floor({"label_smoothing": 0.1}, 10),
                                      accuracy=0.25)
    assert not learnt
    assert verdict == ("overfit: the network cannot learn: on one repeated batch the loss went from 2.3 to 2, "
                       "not below 0.5503 (label smoothing 0.1 over 10 classes keeps the loss above 0.500) and the "
                       "accuracy on it is 0.25. Check the learning rate (lr_schedule), the loss and the labels, and "
                       "the layers (python run.py +recipe=... task=summary)")


def test_debug_overfit_with_label_smoothing_passes_on_the_quickstart(tmp_path, capsys):
    train(tmp_path, "debug=overfit", "debug.epochs=40", "loss={type: CrossEntropyLoss, label_smoothing: 0.1}")
    out = capsys.readouterr().out
    assert "overfit: the network can learn: on one repeated batch the loss fell from " in out
    assert "(label smoothing 0.1 over 10 classes keeps the loss above 0.500) and the accuracy on it is 1" in out


def test_debug_overfit_still_reports_a_network_that_cannot_learn(tmp_path):
    with pytest.raises(NetworkCannotLearn, match="overfit: the network cannot learn"):
        train(tmp_path, "debug=overfit", "debug.epochs=5", "lr_schedule.lr_max=0", "lr_schedule.lr_init=0")
