"""Job controller: pods to completion, counted exactly once, over a fake
clock and an in-memory store."""

from __future__ import annotations

import pytest

from coxapi import kinds
from coxapi.errors import Invalid
from coxapi.timefmt import rfc3339
from master.admission.strategy import prepare_create
from master.controllers import jobplan
from master.controllers.job import JobController, job_index
from master.controllers.jobplan import TRACKING
from master.controllers.testing import make_context

JOB = kinds.lookup("Job")


def job(name="pi", completions=5, parallelism=2, **spec):
    body = {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"completions": completions, "parallelism": parallelism,
                     "template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "app", "image": "demo"}]}},
                     **spec}}
    return prepare_create(JOB, body)


def setup(*objs):
    ctx, clock = make_context()
    for o in objs:
        ctx.objects.create(o)
    return ctx, clock, JobController(ctx)


def settle(ctx, c, rounds=10):
    c.queue.add("default/pi")  # the fake clock does not fire the queue's delayed adds
    for _ in range(rounds):
        ctx.informers.relist()
        if not c.drain():
            return


def pods(ctx, live_only=True):
    out = ctx.objects.list("Pod", "default")[0]
    if live_only:
        out = [p for p in out if not p["metadata"].get("deletionTimestamp")]
    return sorted(out, key=lambda p: p["metadata"]["creationTimestamp"] + p["metadata"]["name"])


def active(ctx):
    return [p for p in pods(ctx) if p["status"]["phase"] not in ("Succeeded", "Failed")]


def status(ctx, name="pi"):
    return ctx.objects.get("Job", "default", name).get("status") or {}


def finish(ctx, pod, phase="Succeeded", code=None, clock=None):
    code = (0 if phase == "Succeeded" else 1) if code is None else code
    at = rfc3339(clock() if clock else 1_800_000_000)

    def write(cur):
        cur["status"] = {"phase": phase, "containerStatuses": [
            {"name": "app", "state": {"terminated": {"exitCode": code, "finishedAt": at}}}]}
        return cur
    ctx.objects.guaranteed_update("Pod", "default", pod["metadata"]["name"], write)


def condition(ctx, ctype, name="pi"):
    return next((c for c in status(ctx, name).get("conditions") or []
                 if c["type"] == ctype and c["status"] == "True"), None)


def test_defaults_selector_and_validation():
    j = job()
    assert j["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/job-name": "pi"}}
    assert j["spec"]["backoffLimit"] == 6 and j["spec"]["completionMode"] == "NonIndexed"
    body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x", "namespace": "d"},
            "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "i"}]}}}}
    with pytest.raises(Invalid) as e:
        prepare_create(JOB, body)
    assert "spec.template.spec.restartPolicy" in str(e.value.to_status())
    body["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    body["spec"]["completionMode"] = "Indexed"
    body["spec"]["parallelism"] = 2
    with pytest.raises(Invalid) as e:
        prepare_create(JOB, body)
    assert "spec.completions" in str(e.value.to_status())


def test_parallelism_bounds_active_pods_and_pods_are_tracked():
    ctx, _, c = setup(job())
    settle(ctx, c)
    ps = pods(ctx)
    assert len(ps) == 2
    for p in ps:
        assert TRACKING in p["metadata"]["finalizers"]
        assert p["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "pi"
        assert p["metadata"]["ownerReferences"][0]["kind"] == "Job"
    st = status(ctx)
    assert st["active"] == 2 and st["startTime"]


def test_exactly_completions_successes_then_complete():
    ctx, clock, c = setup(job())
    settle(ctx, c)
    for _ in range(10):
        for p in active(ctx):
            finish(ctx, p)
        settle(ctx, c)
        if condition(ctx, "Complete"):
            break
    st = status(ctx)
    assert st["succeeded"] == 5 and st["failed"] == 0
    assert condition(ctx, "Complete") and st["completionTime"]
    assert not st.get("uncountedTerminatedPods")
    assert sum(p["status"]["phase"] == "Succeeded" for p in pods(ctx)) == 5
    assert all(not p["metadata"].get("finalizers") for p in pods(ctx))


def test_failures_are_retried_after_exponential_backoff():
    ctx, clock, c = setup(job(completions=1, parallelism=1))
    settle(ctx, c)
    [p] = active(ctx)
    finish(ctx, p, "Failed", clock=clock)
    settle(ctx, c)
    assert status(ctx)["failed"] == 1 and not active(ctx)  # waiting 10 s
    clock.advance(10.5)
    settle(ctx, c)
    [p] = active(ctx)
    finish(ctx, p, "Failed", clock=clock)
    settle(ctx, c)
    clock.advance(10.5)
    settle(ctx, c)
    assert not active(ctx)  # the second failure waits 20 s
    clock.advance(10)
    settle(ctx, c)
    assert len(active(ctx)) == 1
    assert jobplan.backoff_delay(1) == 10 and jobplan.backoff_delay(3) == 40
    assert jobplan.backoff_delay(30) == 360


def test_backoff_limit_fails_the_job():
    ctx, clock, c = setup(job(completions=1, parallelism=1, backoffLimit=1))
    for _ in range(2):
        settle(ctx, c)
        [p] = active(ctx)
        finish(ctx, p, "Failed", clock=clock)
        clock.advance(30)
    settle(ctx, c)
    cond = condition(ctx, "Failed")
    assert cond and cond["reason"] == "BackoffLimitExceeded"
    assert status(ctx)["failed"] == 2 and not active(ctx)


def test_pod_failure_policy_exit_codes():
    policy = {"rules": [{"action": "Ignore", "onExitCodes": {"operator": "In", "values": [3]}},
                        {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}]}
    ctx, clock, c = setup(job(completions=1, parallelism=1, podFailurePolicy=policy))
    settle(ctx, c)
    [p] = active(ctx)
    finish(ctx, p, "Failed", code=3, clock=clock)
    settle(ctx, c)
    assert status(ctx)["failed"] == 0 and len(active(ctx)) == 1  # ignored, replaced at once
    [p] = active(ctx)
    finish(ctx, p, "Failed", code=42, clock=clock)
    settle(ctx, c)
    assert condition(ctx, "Failed")["reason"] == "PodFailurePolicy"


def test_active_deadline():
    ctx, clock, c = setup(job(activeDeadlineSeconds=30))
    settle(ctx, c)
    clock.advance(31)
    settle(ctx, c)
    assert condition(ctx, "Failed")["reason"] == "DeadlineExceeded"
    assert not active(ctx)


def test_indexed_job_one_success_per_index():
    ctx, clock, c = setup(job(completions=3, parallelism=3, completionMode="Indexed"))
    settle(ctx, c)
    ps = active(ctx)
    idx = sorted(int(p["metadata"]["annotations"][jobplan.INDEX_KEY]) for p in ps)
    assert idx == [0, 1, 2]
    for p in ps:
        i = p["metadata"]["annotations"][jobplan.INDEX_KEY]
        assert p["metadata"]["name"].startswith(f"pi-{i}-")
        assert p["spec"]["hostname"] == f"pi-{i}"
        [env] = p["spec"]["containers"][0]["env"]
        assert env["name"] == "JOB_COMPLETION_INDEX"
    one = next(p for p in ps if p["metadata"]["annotations"][jobplan.INDEX_KEY] == "1")
    finish(ctx, one, "Failed", clock=clock)
    for p in ps:
        if p is not one:
            finish(ctx, p)
    settle(ctx, c)
    assert status(ctx)["completedIndexes"] == "0,2"
    clock.advance(11)
    settle(ctx, c)
    [again] = active(ctx)
    assert again["metadata"]["annotations"][jobplan.INDEX_KEY] == "1"
    finish(ctx, again)
    settle(ctx, c)
    st = status(ctx)
    assert st["completedIndexes"] == "0-2" and st["succeeded"] == 3 and condition(ctx, "Complete")


def test_suspend_deletes_active_pods_without_counting_them():
    ctx, _, c = setup(job())
    settle(ctx, c)
    ctx.objects.guaranteed_update("Job", "default", "pi",
                                  lambda o: {**o, "spec": {**o["spec"], "suspend": True}})
    settle(ctx, c)
    assert not active(ctx) and condition(ctx, "Suspended")
    assert status(ctx).get("failed", 0) == 0
    ctx.objects.guaranteed_update("Job", "default", "pi",
                                  lambda o: {**o, "spec": {**o["spec"], "suspend": False}})
    settle(ctx, c)
    assert len(active(ctx)) == 2 and not condition(ctx, "Suspended")


def test_a_pod_deleted_while_running_is_counted_once_as_failed():
    ctx, clock, c = setup(job(completions=1, parallelism=1))
    settle(ctx, c)
    [p] = active(ctx)
    ctx.objects.guaranteed_update("Pod", "default", p["metadata"]["name"], lambda o: {
        **o, "metadata": {**o["metadata"], "deletionTimestamp": rfc3339(clock()),
                          "deletionGracePeriodSeconds": 0}})
    for _ in range(3):
        settle(ctx, c)
    assert status(ctx)["failed"] == 1
    assert p["metadata"]["name"] not in [q["metadata"]["name"] for q in pods(ctx, False)]


def test_a_new_leader_after_the_status_write_counts_each_pod_once():
    """The leader dies after recording a pod (step 1) but before removing its
    finalizer (step 2): a fresh controller finishes the job, counting it once."""
    ctx, _, c = setup(job(completions=2, parallelism=2))
    settle(ctx, c)
    a, b = active(ctx)
    finish(ctx, a)
    ctx.informers.relist()
    cached = ctx.informers["Job"].get("default/pi")
    plan = jobplan.decide(cached, [x for x in pods(ctx)], c.config.clock())
    c._write_status(cached, plan)  # step 1 only, then the leader is gone
    assert status(ctx)["uncountedTerminatedPods"]["succeeded"] == [a["metadata"]["uid"]]
    c2 = JobController(c.ctx)
    settle(ctx, c2)
    finish(ctx, b)
    settle(ctx, c2)
    st = status(ctx)
    assert st["succeeded"] == 2 and condition(ctx, "Complete")


def test_stale_job_copy_cannot_overwrite_counts():
    ctx, _, c = setup(job(completions=2, parallelism=2))
    settle(ctx, c)
    stale = ctx.objects.get("Job", "default", "pi")
    a, _b = active(ctx)
    finish(ctx, a)
    settle(ctx, c)
    plan = jobplan.decide(stale, pods(ctx), c.config.clock())
    with pytest.raises(Exception, match="(?i)conflict|modified"):
        c._write_status(stale, plan)


def test_ttl_after_finished_deletes_the_job():
    ctx, clock, c = setup(job(completions=1, parallelism=1, ttlSecondsAfterFinished=60))
    settle(ctx, c)
    [p] = active(ctx)
    finish(ctx, p)
    settle(ctx, c)
    assert condition(ctx, "Complete")
    clock.advance(61)
    c.queue.add("default/pi")
    settle(ctx, c)
    assert not ctx.objects.list("Job", "default")[0]


def test_tracked_pods_of_a_deleted_job_lose_their_finalizer():
    ctx, _, c = setup(job())
    settle(ctx, c)
    ctx.objects.delete("Job", "default", "pi")
    settle(ctx, c)
    assert all(not p["metadata"].get("finalizers") for p in pods(ctx))


def test_tracked_pods_orphaned_by_their_job_lose_their_finalizer():
    ctx, _, c = setup(job())
    settle(ctx, c)
    orphans = [p["metadata"]["name"] for p in pods(ctx)]
    ctx.objects.delete("Job", "default", "pi")
    for name in orphans:  # what deleting the Job with propagationPolicy=Orphan does
        ctx.objects.guaranteed_update("Pod", "default", name, lambda o: {
            **o, "metadata": {k: v for k, v in o["metadata"].items() if k != "ownerReferences"}})
    settle(ctx, c)
    assert len(orphans) == 2
    assert all(not ctx.objects.get("Pod", "default", n)["metadata"].get("finalizers")
               for n in orphans)


def test_a_job_of_a_deleted_ones_name_counts_its_own_pods_alone():
    """Its sync reads the pods of every Job of that name (the index by Job
    name): the deleted one's tracked pods lose their finalizer, another
    Job's pods in the namespace are left alone, and it counts its own."""
    ctx, _, c = setup(job(), job(name="other"))
    settle(ctx, c)
    c.queue.add("default/other")
    settle(ctx, c)
    first = {p["metadata"]["uid"] for p in pods(ctx) if p["metadata"]["name"].startswith("pi-")}
    ctx.objects.delete("Job", "default", "pi")
    ctx.objects.create(job())  # the same name, another uid, before a sync saw the delete
    settle(ctx, c)
    by_uid = {p["metadata"]["uid"]: p for p in pods(ctx)}
    assert len(first) == 2 and all(not by_uid[u]["metadata"].get("finalizers") for u in first)
    mine = [p for p in by_uid.values() if p["metadata"]["name"].startswith("pi-")
            and p["metadata"]["uid"] not in first]
    assert len(mine) == 2 and all(TRACKING in p["metadata"]["finalizers"] for p in mine)
    others = [p for p in by_uid.values() if p["metadata"]["name"].startswith("other-")]
    assert len(others) == 2 and all(TRACKING in p["metadata"]["finalizers"] for p in others)
    assert status(ctx)["active"] == 2 and status(ctx, "other")["active"] == 2


def test_the_job_index_files_a_pod_under_its_controlling_jobs_name():
    def pod(*refs):
        return {"metadata": {"name": "p", "namespace": "ns", "ownerReferences": list(refs)}}
    job_ref = {"apiVersion": "batch/v1", "kind": "Job", "name": "pi", "uid": "u1",
               "controller": True}
    assert job_index(pod(job_ref)) == ["ns/pi"]
    assert job_index(pod({**job_ref, "kind": "ReplicaSet"})) == []
    assert job_index(pod({**job_ref, "controller": False})) == []
    assert job_index(pod()) == []


def test_completed_indexes_text():
    assert jobplan.format_indexes({0, 1, 2, 4, 6, 7}) == "0-2,4,6-7"
    assert jobplan.parse_indexes("0-2,4,6-7") == {0, 1, 2, 4, 6, 7}


def test_a_pod_observed_during_a_reconcile_is_not_created_again():
    """The expectations are read before the pods: the last pod created,
    observed while a reconcile writes the status (after it listed the pods),
    must not let that reconcile create another on its list without it."""
    ctx, _, c = setup(job(completions=3, parallelism=2))
    settle(ctx, c)
    a, _b = active(ctx)
    finish(ctx, a)
    ctx.informers.relist()
    c.reconcile("default/pi")  # records a, untracks it, creates a third pod
    assert len(pods(ctx)) == 3
    ctx.informers["Job"].relist()  # the Job is seen; the third pod not yet
    write = c._write_status

    def observed_meanwhile(*args: object) -> None:
        write(*args)  # type: ignore[arg-type]
        ctx.informers["Pod"].relist()
    c._write_status = observed_meanwhile  # type: ignore[method-assign]
    c.reconcile("default/pi")
    assert len(pods(ctx)) == 3 and len(active(ctx)) == 2
