"""The trainer learns from the batches: on synthetic data, on a worker thread, with no Qt."""

from __future__ import annotations

import math

import mlx.core as mx
import numpy as np
import pytest
from training_support import ArrayLoader, blobs, linear_data, on_thread

from udl_core.errors import ConfigError, DeviceUnavailableError, DivergedError
from udl_core.events import Notice, run_job
from udl_core.training import (
    DummyModel,
    EpochMetrics,
    LinearModel,
    StepLoss,
    TrainConfig,
    gpu_available,
    train,
    train_model,
)
from udl_core.training.metrics import chance_alarm, chance_loss, plateau_alarm, r2_score


def _drain(job):
    events = []
    return events, run_job(job, events.append)


def _blob_loader(**kwargs):
    x, y = blobs(n=600, classes=3, dim=4, spread=0.8)
    return ArrayLoader(x, y, task="classification", classes=("a", "b", "c"), **kwargs)


def test_separable_three_classes_reach_high_validation_accuracy():
    result = on_thread(train_model, _blob_loader(), num_epochs=4, learning_rate=1e-2)
    assert result.final.val_accuracy >= 0.95
    assert result.final.train_loss < result.epochs[0].train_loss or result.final.train_loss < 0.05
    assert result.final.warnings == ()
    assert result.task == "classification" and result.classes == ("a", "b", "c")
    assert result.spec.in_dim == 4 and result.spec.out_dim == 3
    probs = result.predict(_blob_loader().val_data.x)
    assert probs.shape == (120, 3) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_linear_regression_reaches_high_r2_in_target_units():
    x, y = linear_data(n=600, scale=50.0, offset=1000.0)
    loader = ArrayLoader(x, y, task="regression")
    result = on_thread(train_model, loader, num_epochs=10, learning_rate=1e-2, model="linear")
    final = result.final
    assert final.val_r2 >= 0.95 and final.val_accuracy is None
    # the MSE is in the target's units (y has a std of about 50): recompute it from the predictions
    pred = result.predict(loader.val_data.x)
    assert pred.shape == (loader.num_val,)
    assert final.val_mse == pytest.approx(float(np.mean((pred - loader.val_data.y) ** 2)), rel=1e-4)
    assert final.val_r2 == pytest.approx(r2_score(loader.val_data.y, pred), rel=1e-6)
    assert result.target_mean == pytest.approx(float(loader.train_data.y.mean()), rel=1e-5)
    assert abs(float(np.mean(pred)) - 1000.0) < 20.0


def test_shuffled_labels_stay_near_chance_and_raise_the_alarm():
    x, y = blobs(n=600, classes=3, dim=4, spread=0.8)
    y = np.random.default_rng(1).permutation(y)
    loader = ArrayLoader(x, y, task="classification", classes=("a", "b", "c"))
    result = on_thread(train_model, loader, num_epochs=3, learning_rate=1e-3)
    assert result.final.val_accuracy < 0.5
    assert any("chance level" in w for w in result.final.warnings)
    assert abs(result.final.train_loss - math.log(3)) < 0.1


def test_same_seed_gives_identical_losses_step_for_step():
    a = on_thread(train_model, _blob_loader(), num_epochs=2, seed=7)
    b = on_thread(train_model, _blob_loader(), num_epochs=2, seed=7)
    c = on_thread(train_model, _blob_loader(), num_epochs=2, seed=8)
    assert len(a.step_losses) == 2 * len(_blob_loader())
    np.testing.assert_array_equal(a.step_losses, b.step_losses)
    assert a.epoch_losses == b.epoch_losses
    assert not np.array_equal(a.step_losses, c.step_losses)


def test_stop_request_is_honoured_within_one_step():
    seen = []

    def on_step(step, loss):
        seen.append(step)

    result = on_thread(train_model, _blob_loader(batch_size=8), num_epochs=5,
                       on_step=on_step, should_stop=lambda: len(seen) >= 3)
    assert result.stopped
    assert seen == [1, 2, 3]
    assert len(result.step_losses) == 3
    assert result.epochs == []
    assert np.isfinite(result.predict(np.zeros((2, 4), np.float32))).all()


def test_events_are_plain_values_and_steps_report_every_n():
    job = train(_blob_loader(), TrainConfig(epochs=2, report_every=5, device="cpu"))
    events, result = on_thread(_drain, job)
    steps = [e for e in events if isinstance(e, StepLoss)]
    epochs = [e for e in events if isinstance(e, EpochMetrics)]
    per_epoch = len(_blob_loader())
    assert [e.step for e in steps] == list(range(5, 2 * per_epoch + 1, 5))
    assert len(result.step_losses) == 2 * per_epoch
    for event in steps:
        assert isinstance(event.loss, float) and event.loss == pytest.approx(result.step_losses[event.step - 1])
        assert event.epochs == 2 and event.steps_per_epoch == per_epoch
        assert event.step == (event.epoch - 1) * per_epoch + event.step_in_epoch
        assert event.samples_per_s > 0 and 0.0 <= event.data_wait_share <= 1.0
    assert [m.epoch for m in epochs] == [1, 2]
    for m in epochs:
        for value in vars(m).values():
            assert not isinstance(value, mx.array)
        assert m.samples == 480 and m.samples_per_s > 0 and m.data_wait_s >= 0 and m.step_s > 0
    event = epochs[-1].to_dict()
    assert event["event"] == "epoch" and "val_accuracy" in event and "val_r2" not in event


def test_auto_device_on_a_cpu_only_machine_says_so_once():
    if gpu_available():
        pytest.skip("this machine has a GPU")
    events, _ = on_thread(_drain, train(_blob_loader(), TrainConfig(epochs=2, device="auto")))
    notices = [e for e in events if isinstance(e, Notice)]
    assert len(notices) == 1 and "CPU" in notices[0].message


def test_gpu_requested_without_one_is_a_clear_error():
    if gpu_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(DeviceUnavailableError, match="GPU"):
        on_thread(train_model, _blob_loader(), num_epochs=1, device="gpu")


def test_nan_input_stops_the_run_naming_the_step():
    x, y = blobs(n=200, classes=3, dim=4)
    x[5:] = np.nan
    loader = ArrayLoader(x, y, task="classification", classes=("a", "b", "c"), val_fraction=0.0)
    with pytest.raises(DivergedError, match=r"at step \d+.*lower learning rate") as info:
        on_thread(train_model, loader, num_epochs=2, report_every=50)
    assert info.value.step >= 1 and not math.isfinite(info.value.loss)


def test_huge_learning_rate_diverges():
    x, y = linear_data(n=300)
    loader = ArrayLoader(x, y, task="regression")
    with pytest.raises(DivergedError, match="learning rate 1e\\+30") as info:
        on_thread(train_model, loader, num_epochs=5, learning_rate=1e30)
    assert info.value.step > 1


def test_linear_model_keeps_the_old_name():
    assert DummyModel is LinearModel
    result = on_thread(train_model, _blob_loader(), num_epochs=1, model="linear", is_metal=False)
    assert isinstance(result.model, DummyModel) and result.device == "cpu"


def test_bad_configuration_is_a_config_error():
    with pytest.raises(ConfigError, match="epochs"):
        next(train(_blob_loader(), TrainConfig(epochs=0)))
    with pytest.raises(ConfigError, match="learning rate"):
        next(train(_blob_loader(), TrainConfig(learning_rate=-1.0)))
    with pytest.raises(ConfigError, match="unknown model"):
        next(train(_blob_loader(), TrainConfig(model="cnn")))
    with pytest.raises(ConfigError, match="hidden layer sizes"):
        next(train(_blob_loader(), TrainConfig(hidden=(64, 0))))


def test_validation_rows_are_never_trained_on():
    # Noise labels: a wide MLP memorises the training rows, but cannot do better than chance on val.
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 8)).astype(np.float32)
    y = rng.integers(0, 2, 400).astype(np.int32)
    loader = ArrayLoader(x, y, task="classification", classes=("no", "yes"), batch_size=32)
    config = TrainConfig(epochs=60, learning_rate=3e-3, hidden=(128, 128), device="cpu", report_every=1000)
    _, result = on_thread(_drain, train(loader, config))
    train_acc = float(np.mean(result.predict(loader.train_data.x).argmax(1) == loader.train_data.y))
    assert train_acc > 0.9
    assert result.final.val_accuracy < 0.7


def test_alarms():
    assert chance_loss(np.array([0, 1, 2, 0, 1, 2]), 3) == pytest.approx(math.log(3))
    assert chance_loss(np.array([0, 0, 0, 1]), 2) < math.log(2)
    assert chance_alarm(1.09, math.log(3)) is not None
    assert chance_alarm(0.4, math.log(3)) is None
    assert plateau_alarm([1.0, 0.5, 0.5, 0.501, 0.4995], 3) is not None
    assert plateau_alarm([1.0, 0.5, 0.5, 0.49], 3) is None
    assert plateau_alarm([0.5, 0.5], 3) is None
    assert math.isnan(r2_score(np.ones(4), np.zeros(4)))
