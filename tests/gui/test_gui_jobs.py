"""The window's jobs without Qt: coalesced steps, per-batch health, the walk."""

from __future__ import annotations

import numpy as np

from conftest import SAMPLE
from udl_core.events import Notice, StepLoss, run_job
from udl_gui import jobs


def drain(gen):
    events = []
    return events, run_job(gen, events.append)


def fake_training(n):
    for i in range(1, n + 1):
        yield StepLoss(i, 1 + (i - 1) // 10, 1.0 / i)
        if i == 15:
            yield Notice("half way")
    return "result"


def test_coalesce_merges_steps_keeps_order_and_result():
    events, result = drain(jobs.coalesce_steps(fake_training(30), interval=3600))
    shown = [e for e in events if e is not None]
    assert result == "result"
    assert [type(e).__name__ for e in shown] == ["StepLosses", "Notice", "StepLosses"]
    assert shown[0].steps.tolist() == list(range(1, 16)) and shown[2].steps.tolist() == list(range(16, 31))
    assert shown[2].epoch == 3
    assert len(events) >= 30  # a heartbeat per step: a stop request is seen within one step


def test_coalesce_with_zero_interval_passes_every_step():
    events, _ = drain(jobs.coalesce_steps(fake_training(5), interval=0))
    assert [len(e.steps) for e in events if isinstance(e, jobs.StepLosses)] == [1] * 5


def test_epoch_health_matches_a_walk_over_real_batches():
    from udl_core.loader import UnifiedDataLoader

    loader = UnifiedDataLoader(str(SAMPLE), batch_size=16).load()
    fast = jobs.epoch_health(loader)
    events, summary = drain(jobs.walk_job(loader))
    health = [e for e in events if isinstance(e, jobs.BatchHealth)]
    counts = np.concatenate([h.label_counts for h in health])
    assert summary.batches == len(loader) == len(counts) == len(fast.mean)
    assert summary.samples == loader.num_train
    assert (counts == fast.label_counts).all()
    assert counts.sum() == loader.num_train
    np.testing.assert_allclose(np.concatenate([h.mean for h in health]), fast.mean, rtol=1e-6)
    np.testing.assert_allclose(np.concatenate([h.std for h in health]), fast.std, rtol=1e-5)
    assert summary.nonfinite == 0 and summary.problems == ()


def test_batch_health_counts_nonfinite_and_regression_means():
    x = [np.array([[1.0, np.nan], [3.0, np.inf]]), np.array([[2.0, 2.0]])]
    y = [np.array([1.0, 3.0]), np.array([5.0])]
    h = jobs.batch_health(x, y, start=4, num_classes=None)
    assert h.start == 4 and h.label_counts is None
    assert h.nonfinite.tolist() == [2, 0]
    assert h.mean.tolist() == [2.0, 2.0] and h.std.tolist() == [1.0, 0.0]
    assert h.label_mean.tolist() == [2.0, 5.0]


def test_epoch_health_in_small_chunks_matches_one_pass():
    from udl_core.loader import UnifiedDataLoader

    loader = UnifiedDataLoader(str(SAMPLE), batch_size=7).load()
    whole = jobs.epoch_health(loader)
    events, chunked = drain(jobs.iter_epoch_health(loader, chunk_rows=20))
    assert len(events) > 5 and all(e is None for e in events)  # heartbeats between chunks
    assert len(chunked.mean) == len(loader) == len(whole.mean)
    np.testing.assert_allclose(chunked.mean, whole.mean)
    assert (chunked.label_counts == whole.label_counts).all()
