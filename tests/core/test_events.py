from udl_core.events import Progress, run_job


def job(n):
    for i in range(n):
        yield Progress("count", i + 1, n)
    return "done"


def test_run_job_returns_the_result_and_hands_on_every_event():
    seen = []
    assert run_job(job(3), seen.append) == "done"
    assert [e.done for e in seen] == [1, 2, 3]
    assert run_job(job(2)) == "done"
