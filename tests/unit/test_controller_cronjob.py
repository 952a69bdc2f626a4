"""CronJob controller over a hand-moved clock: minutes pass in microseconds."""

from __future__ import annotations

import time

import pytest

from coxapi import cronschedule, kinds
from coxapi.errors import Invalid
from coxapi.timefmt import parse_epoch
from master.admission.strategy import prepare_create
from master.controllers import cronplan
from master.controllers.cronjob import CronJobController
from master.controllers.testing import FakeClock, make_context

CJ = kinds.lookup("CronJob")


def cronjob(schedule="* * * * *", **spec):
    return prepare_create(CJ, {
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "tick", "namespace": "default"},
        "spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}},
            **spec}})


def setup(cj):
    # Objects get a real creationTimestamp (whole seconds): the fake clock starts there.
    ctx, clock = make_context(FakeClock(time.time()))
    created = ctx.objects.create(cj)
    clock.advance(parse_epoch(created["metadata"]["creationTimestamp"]) - clock())
    return ctx, clock, CronJobController(ctx)


def settle(ctx, c, rounds=10):
    c.queue.add("default/tick")  # the fake clock does not fire the queue's delayed adds
    for _ in range(rounds):
        ctx.informers.relist()
        if not c.drain():
            return


def jobs(ctx):
    return sorted(ctx.objects.list("Job", "default")[0], key=lambda j: j["metadata"]["name"])


def status(ctx):
    return ctx.objects.get("CronJob", "default", "tick").get("status") or {}


def finish(ctx, job, ctype="Complete"):
    def write(cur):
        cur["status"] = {"conditions": [{"type": ctype, "status": "True"}],
                         "completionTime": cur["metadata"]["creationTimestamp"]}
        return cur
    ctx.objects.guaranteed_update("Job", "default", job["metadata"]["name"], write)


def test_schedule_validation_names_the_field():
    for schedule, tz, field in (("61 * * * *", None, "spec.schedule"),
                                ("* * * *", None, "spec.schedule"),
                                ("TZ=UTC * * * * *", None, "spec.schedule"),
                                ("@hourly", "Mars/Olympus", "spec.timeZone")):
        spec = {"timeZone": tz} if tz else {}
        with pytest.raises(Invalid) as e:
            cronjob(schedule, **spec)
        assert field in str(e.value.to_status()), schedule
    assert cronjob("@hourly", timeZone="Europe/Paris")["spec"]["concurrencyPolicy"] == "Allow"


def test_latest_scheduled_time_in_a_time_zone():
    # 2027-01-15 08:00 UTC is 09:00 in Paris: "0 9 * * *" there ran at 08:00 UTC
    at = parse_epoch("2027-01-15T08:30:00Z")
    assert cronschedule.latest("0 9 * * *", "Europe/Paris", at - 3600, at) == \
        parse_epoch("2027-01-15T08:00:00Z")
    assert cronschedule.latest("0 9 * * *", None, at - 3600, at) is None


def test_one_job_per_minute_named_by_its_time_and_never_twice():
    ctx, clock, c = setup(cronjob())
    settle(ctx, c)
    assert jobs(ctx) == []  # the first time is after the creation
    clock.advance(60)
    settle(ctx, c)
    [j] = jobs(ctx)
    scheduled = parse_epoch(status(ctx)["lastScheduleTime"])
    assert j["metadata"]["name"] == f"tick-{int(scheduled // 60)}"
    assert j["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert j["spec"]["selector"]  # made by the Job's own create rules
    assert [r["name"] for r in status(ctx)["active"]] == [j["metadata"]["name"]]
    # a new leader whose cache lost lastScheduleTime creates nothing new for that time
    ctx.objects.guaranteed_update("CronJob", "default", "tick",
                                  lambda o: {**o, "status": {}})
    c2 = CronJobController(c.ctx)
    settle(ctx, c2)
    assert len(jobs(ctx)) == 1


def test_forbid_skips_while_a_job_is_active_and_allow_does_not():
    ctx, clock, c = setup(cronjob(concurrencyPolicy="Forbid"))
    clock.advance(60)
    settle(ctx, c)
    clock.advance(60)
    settle(ctx, c)
    assert len(jobs(ctx)) == 1
    finish(ctx, jobs(ctx)[0])
    settle(ctx, c)  # the skipped time runs now that nothing is active
    assert len(jobs(ctx)) == 2
    ctx2, clock2, c2 = setup(cronjob(concurrencyPolicy="Allow"))
    for _ in range(2):
        clock2.advance(60)
        settle(ctx2, c2)
    assert len(jobs(ctx2)) == 2 and len(status(ctx2)["active"]) == 2


def test_replace_deletes_the_active_job():
    ctx, clock, c = setup(cronjob(concurrencyPolicy="Replace"))
    clock.advance(60)
    settle(ctx, c)
    first = jobs(ctx)[0]["metadata"]["name"]
    clock.advance(60)
    settle(ctx, c)
    names = [j["metadata"]["name"] for j in jobs(ctx)]
    assert first not in names and len(names) == 1


def test_missed_times_without_a_leader_run_once_within_the_deadline():
    ctx, clock, c = setup(cronjob(startingDeadlineSeconds=200))
    clock.advance(60)
    settle(ctx, c)
    assert len(jobs(ctx)) == 1
    clock.advance(10 * 60)  # no leader for ten minutes: ten times missed
    c2 = CronJobController(c.ctx)
    settle(ctx, c2)
    assert len(jobs(ctx)) == 2  # the latest of them, once
    last = parse_epoch(status(ctx)["lastScheduleTime"])
    assert clock() - 60 < last <= clock()


def test_a_time_older_than_the_starting_deadline_is_not_run():
    ctx, clock, c = setup(cronjob("0 * * * *", startingDeadlineSeconds=30))
    clock.advance(cronschedule.next_after("0 * * * *", None, clock()) + 45 - clock())
    settle(ctx, c)  # the hour passed 45 s ago
    assert jobs(ctx) == []


def test_suspend_and_history_limits():
    ctx, clock, c = setup(cronjob(successfulJobsHistoryLimit=2, failedJobsHistoryLimit=1))
    for _ in range(4):
        clock.advance(60)
        settle(ctx, c)
        finish(ctx, jobs(ctx)[-1])
    settle(ctx, c)
    assert len(jobs(ctx)) == 2 and status(ctx)["lastSuccessfulTime"]
    ctx.objects.guaranteed_update("CronJob", "default", "tick",
                                  lambda o: {**o, "spec": {**o["spec"], "suspend": True}})
    clock.advance(120)
    settle(ctx, c)
    assert len(jobs(ctx)) == 2


def test_job_for_carries_the_scheduled_time():
    cj = cronjob()
    cj["metadata"]["uid"] = "u1"
    job = cronplan.job_for(cj, 1_800_000_060.0)
    assert job["metadata"]["name"] == "tick-30000001"
    assert job["metadata"]["annotations"][cronplan.SCHEDULED_AT] == "2027-01-15T08:01:00Z"
