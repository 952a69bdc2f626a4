"""The sync loop's per-pod record: a worker changes only its task's copy,
and the loop folds the task back in once the worker is done."""

from __future__ import annotations

from concurrent.futures import Future

from node.podrecord import PodRecord, PodTask, RecentVersions, only_status_changed


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


def _pod(rv: str, status: dict, **spec: object) -> dict:
    return {"metadata": {"name": "web", "uid": "u1", "resourceVersion": rv},
            "spec": {"nodeName": "n1", **spec}, "status": status}


def test_the_echo_of_a_status_write_is_ours_even_before_the_write_answers():
    own = RecentVersions()
    old = _pod("5", {"phase": "Pending"})
    running = {"phase": "Running"}
    own.writing("u1", running)
    assert own.own(old, _pod("6", running)), "its event can beat the answer"
    assert not own.own(old, _pod("6", running, restartPolicy="Never")), "a spec change is not"
    assert not own.own(old, _pod("6", {"phase": "Failed"})), "another status is not"
    assert not own.own(None, _pod("6", running)), "an add is not"
    own.add("6")
    own.writing("u1", None)
    assert own.own(old, _pod("6", running)), "its resourceVersion, once answered"
    assert not own.own(_pod("6", running), _pod("7", running)), \
        "someone else writing the same status afterwards is not"


def test_only_status_changed_ignores_resource_version_and_managed_fields():
    a = _pod("1", {"phase": "Pending"})
    b = _pod("2", {"phase": "Running"})
    b["metadata"]["managedFields"] = [{"manager": "x"}]
    assert only_status_changed(a, b)
    b["metadata"]["labels"] = {"x": "y"}
    assert not only_status_changed(a, b)
