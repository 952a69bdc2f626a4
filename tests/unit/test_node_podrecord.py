"""The sync loop's per-pod record: a worker changes only its task's copy,
and the loop folds the task back in once the worker is done."""

from __future__ import annotations

from concurrent.futures import Future

from node.podrecord import PodRecord, PodTask


def test_waiting_reasons_come_back_through_the_workers_task():
    record = PodRecord("u1")
    record.waiting["app"] = ("ImagePullBackOff", 'Back-off pulling image "x"')
    task = record.task(None, [], api_ok=True)
    record.worker = Future()
    task.waiting["app"] = ("ErrImagePull", 'Failed to pull image "x"')  # on the worker
    assert record.waiting == {"app": ("ImagePullBackOff", 'Back-off pulling image "x"')}
    assert not record.collect()  # still running: nothing folded in
    task.finished_at = 1.0
    record.worker.set_result(task)
    assert record.collect()
    assert record.waiting == {"app": ("ErrImagePull", 'Failed to pull image "x"')}
    assert record.done_at == 1.0 and record.worker is None


def test_a_cancelled_worker_leaves_the_record_as_it_was():
    record = PodRecord("u1", waiting={"app": ("ContainerCreating", "")})
    task: PodTask = record.task(None, [], api_ok=True)
    task.waiting.clear()
    record.worker = Future()
    record.worker.cancel()
    assert record.collect() and record.waiting == {"app": ("ContainerCreating", "")}
