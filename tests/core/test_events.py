import subprocess
import sys

from udl_core.events import DEFAULT_HIDDEN, MODEL_KINDS, EpochMetrics, Progress, StepLoss, TrainConfig, run_job


def job(n):
    for i in range(n):
        yield Progress("count", i + 1, n)
    return "done"


def test_run_job_returns_the_result_and_hands_on_every_event():
    seen = []
    assert run_job(job(3), seen.append) == "done"
    assert [e.done for e in seen] == [1, 2, 3]
    assert run_job(job(2)) == "done"


def test_the_training_events_import_without_mlx():
    """A window or a script dispatches on the events' types without loading MLX."""
    code = ("import sys; from udl_core.events import EpochMetrics, StepLoss, TrainConfig; "
            "print(sorted(m for m in sys.modules if m == 'mlx' or m.startswith('mlx.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_trainer_yields_the_events_module_types():
    from udl_core.training import trainer

    assert trainer.StepLoss is StepLoss and trainer.EpochMetrics is EpochMetrics
    assert trainer.TrainConfig is TrainConfig
    assert TrainConfig().hidden == DEFAULT_HIDDEN and "mlp" in MODEL_KINDS
