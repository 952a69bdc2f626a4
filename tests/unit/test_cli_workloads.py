"""`cox scale`, `cox rollout status|history|undo` and `cox delete` against a fake API."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.commands.rollout import rollout_status
from tests.unit.cli_fakeapi import FakeApi, FakeClock, cox

TEMPLATE = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "demo:{v}"}]}}


def template(v: int, hash_label: str | None = None) -> dict:
    t = {"metadata": {"labels": {"app": "web"}},
         "spec": {"containers": [{"name": "web", "image": f"demo:{v}"}]}}
    if hash_label:
        t["metadata"]["labels"]["pod-template-hash"] = hash_label
    return t


def add_deployment(fake: FakeApi, revisions: int = 3, current: int = 3) -> dict:
    dep = fake.add({"kind": "Deployment", "metadata": {
        "name": "web", "annotations": {"deployment.kubernetes.io/revision": str(current)}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": template(current)}})
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
           "uid": dep["metadata"]["uid"], "controller": True}
    for v in range(1, revisions + 1):
        annotations = {"deployment.kubernetes.io/revision": str(v)}
        if v == 2:
            annotations["kubernetes.io/change-cause"] = "image demo:2"
        fake.add({"kind": "ReplicaSet", "metadata": {
            "name": f"web-h{v}", "annotations": annotations, "ownerReferences": [ref],
            "labels": {"app": "web", "pod-template-hash": f"h{v}"}},
            "spec": {"replicas": 2 if v == current else 0, "template": template(v, f"h{v}")}})
    # Someone else's ReplicaSet must not appear in the history.
    fake.add({"kind": "ReplicaSet", "metadata": {
        "name": "other", "annotations": {"deployment.kubernetes.io/revision": "9"},
        "ownerReferences": [{**ref, "name": "other", "uid": "x"}]},
        "spec": {"replicas": 1, "template": template(9)}})
    return dep


def test_scale_uses_the_scale_subresource(fake: FakeApi, kc: str) -> None:
    add_deployment(fake)
    for args in (["deploy/web"], ["deployment", "web"]):
        r = cox(kc, "scale", *args, "--replicas", "5")
        assert (r.exit_code, r.stdout) == (0, "deployment.apps/web scaled\n")
    assert fake.calls("PATCH")[-1][1] == "/apis/apps/v1/namespaces/default/deployments/web/scale"
    assert fake.obj("deployments", "web")["spec"]["replicas"] == 5


def test_scale_errors(fake: FakeApi, kc: str) -> None:
    r = cox(kc, "scale", "deploy/nope", "--replicas", "1")
    assert (r.exit_code, r.stderr) == (
        3, 'Error from server (NotFound): deployments.apps "nope" not found\n')
    r = cox(kc, "scale", "po/x", "--replicas", "1")
    assert r.exit_code == 2 and "cannot be scaled" in r.stderr
    r = cox(kc, "scale", "deploy/web", "--replicas", "-1")
    assert r.exit_code == 2


def test_rollout_status_waits_and_prints_progress(fake: FakeApi, kc: str) -> None:
    add_deployment(fake)
    states = iter([
        {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 1},
        {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 1},
        {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2},
        {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1},
        {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1},
        {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2},
    ])

    def progress(obj: dict) -> None:
        obj["metadata"]["generation"] = 2
        obj["status"] = next(states)

    fake.on_get[("deployments", "default", "web")] = progress
    clock = FakeClock()
    r = cox(kc, "rollout", "status", "deploy/web", "--timeout", "5m", clock=clock)
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [
        "Waiting for deployment spec update to be observed...",
        'Waiting for deployment "web" rollout to finish: 1 out of 2 new replicas have been '
        "updated...",
        'Waiting for deployment "web" rollout to finish: 1 old replicas are pending '
        "termination...",
        'Waiting for deployment "web" rollout to finish: 1 of 2 updated replicas are available...',
        'deployment "web" successfully rolled out',
    ]
    assert len(clock.sleeps) == 5


def test_rollout_status_times_out_with_exit_6(fake: FakeApi, kc: str) -> None:
    add_deployment(fake)
    fake.on_get[("deployments", "default", "web")] = lambda o: o.update(
        status={"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2,
                "availableReplicas": 0})
    clock = FakeClock()
    r = cox(kc, "rollout", "status", "deploy/web", "--timeout", "10s", clock=clock)
    assert r.exit_code == 6
    assert r.stderr == 'error: timed out waiting for the rollout of deployment "web" after 10s\n'
    assert sum(clock.sleeps) == pytest.approx(10)


def test_rollout_status_reports_a_missed_deadline() -> None:
    dep = {"metadata": {"name": "web", "generation": 1},
           "status": {"observedGeneration": 1, "conditions": [
               {"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]}}
    with pytest.raises(Exception, match="exceeded its progress deadline"):
        rollout_status(dep)


def test_rollout_history_lists_owned_replicasets(fake: FakeApi, kc: str) -> None:
    add_deployment(fake)
    r = cox(kc, "rollout", "history", "deploy/web")
    assert r.exit_code == 0, r.output
    assert [line.split(None, 1) for line in r.stdout.splitlines()] == [
        ["deployment.apps/web"], ["REVISION", "CHANGE-CAUSE"], ["1", "<none>"],
        ["2", "image demo:2"], ["3", "<none>"]]


def test_rollout_undo_goes_back_to_the_previous_revision(fake: FakeApi, kc: str) -> None:
    add_deployment(fake)
    r = cox(kc, "rollout", "undo", "deploy/web")
    assert (r.exit_code, r.stdout) == (0, "deployment.apps/web rolled back\n")
    live = fake.obj("deployments", "web")
    # Revision 2's template, without the ReplicaSet's pod-template-hash label.
    assert live["spec"]["template"] == template(2)
    assert live["metadata"]["annotations"]["kubernetes.io/change-cause"] == "image demo:2"
    put = fake.calls("PUT")[0]
    assert put[3]["metadata"]["resourceVersion"]


def test_rollout_undo_to_a_revision_and_its_errors(fake: FakeApi, kc: str) -> None:
    add_deployment(fake)
    r = cox(kc, "rollout", "undo", "deploy/web", "--to-revision", "1")
    assert r.exit_code == 0
    assert fake.obj("deployments", "web")["spec"]["template"] == template(1)
    r = cox(kc, "rollout", "undo", "deploy/web", "--to-revision", "7")
    assert r.exit_code == 2 and "unable to find specified revision 7" in r.stderr
    r = cox(kc, "rollout", "undo", "deploy/web", "--to-revision", "1")
    assert "skipped rollback" in r.stdout


def test_rollout_undo_without_history(fake: FakeApi, kc: str) -> None:
    add_deployment(fake, revisions=1, current=1)
    r = cox(kc, "rollout", "undo", "deploy/web")
    assert r.exit_code == 1
    assert r.stderr.startswith('error: no rollout history found for deployment "web"')


def test_delete_by_name_manifest_and_selector(fake: FakeApi, kc: str, tmp_path: Path) -> None:
    add_deployment(fake)
    fake.add({"kind": "Pod", "metadata": {"name": "a", "labels": {"app": "x"}}, "spec": {}})
    fake.add({"kind": "Pod", "metadata": {"name": "b", "labels": {"app": "x"}}, "spec": {}})
    r = cox(kc, "delete", "deploy", "web", "--cascade", "foreground", "--grace-period", "0")
    assert (r.exit_code, r.stdout) == (0, 'deployment.apps "web" deleted\n')
    assert fake.calls("DELETE")[0][3] == {"kind": "DeleteOptions", "apiVersion": "v1",
                                          "propagationPolicy": "Foreground",
                                          "gracePeriodSeconds": 0}
    r = cox(kc, "delete", "po", "-l", "app=x")
    assert r.stdout.splitlines() == ['pod "a" deleted', 'pod "b" deleted']
    f = tmp_path / "cm.yaml"
    f.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n")
    fake.add({"kind": "ConfigMap", "metadata": {"name": "cfg"}})
    assert cox(kc, "delete", "-f", str(f)).stdout == 'configmap "cfg" deleted\n'


def test_delete_missing_object(fake: FakeApi, kc: str) -> None:
    r = cox(kc, "delete", "po/ghost")
    assert (r.exit_code, r.stderr) == (3, 'Error from server (NotFound): pods "ghost" not found\n')
    assert cox(kc, "delete", "po/ghost", "--ignore-not-found").exit_code == 0
    r = cox(kc, "delete", "po")
    assert r.exit_code == 2 and "no name was specified" in r.stderr


def test_delete_waits_until_the_object_is_gone(fake: FakeApi, kc: str) -> None:
    fake.add({"kind": "Pod", "metadata": {"name": "slow"}, "spec": {}})
    gets = {"n": 0}
    original = fake.remove

    def graceful(plural: str, ns: str, name: str) -> dict:
        # Like a bound pod: DELETE only marks it; it disappears two polls later.
        obj = fake.objects[(plural, ns, name)]
        obj["metadata"]["deletionTimestamp"] = "2026-11-28T12:00:00Z"
        return obj

    def countdown(obj: dict) -> None:
        gets["n"] += 1
        if gets["n"] == 2:
            original("pods", "default", "slow")

    fake.remove = graceful  # type: ignore[method-assign]
    fake.on_get[("pods", "default", "slow")] = countdown
    clock = FakeClock()
    r = cox(kc, "delete", "pod", "slow", clock=clock)
    assert r.exit_code == 0, r.output
    assert ("pods", "default", "slow") not in fake.objects
    assert len(clock.sleeps) == 1


def test_rollout_status_without_watch_reports_once(fake: FakeApi, kc: str) -> None:
    add_deployment(fake)
    fake.obj("deployments", "web")["status"] = {"observedGeneration": 1, "replicas": 2,
                                                "updatedReplicas": 2, "availableReplicas": 1}
    clock = FakeClock()
    r = cox(kc, "rollout", "status", "deploy/web", "--no-watch", clock=clock)
    assert (r.exit_code, clock.sleeps) == (0, [])
    assert r.stdout == ('Waiting for deployment "web" rollout to finish: 1 of 2 updated '
                        "replicas are available...\n")


def test_rollout_needs_a_deployment(fake: FakeApi, kc: str) -> None:
    r = cox(kc, "rollout", "status", "rs/web")
    assert r.exit_code == 2 and "rollout works on deployments" in r.stderr
    fake.add({"kind": "Deployment", "metadata": {"name": "solo"}, "spec": {}})
    assert cox(kc, "rollout", "history", "deploy/solo").stdout == (
        "No rollout history found for deployment.apps/solo.\n")


def test_describe_deployment(fake: FakeApi, kc: str) -> None:
    dep = add_deployment(fake)
    fake.obj("deployments", "web")["status"] = {"replicas": 2, "updatedReplicas": 2,
                                                "availableReplicas": 1, "unavailableReplicas": 1}
    r = cox(kc, "describe", "deploy/web")
    assert r.exit_code == 0, r.output
    assert "Replicas:          2 desired | 2 updated | 2 total | 1 available | 1 unavailable" \
        in r.stdout
    assert "Selector:          app=web" in r.stdout
    assert "Image:          demo:3" in r.stdout
    assert dep["metadata"]["uid"]


def test_rollout_restart_stamps_the_pod_template(fake: FakeApi, kc: str) -> None:
    add_deployment(fake)
    r = cox(kc, "rollout", "restart", "deploy/web", clock=FakeClock())
    assert (r.exit_code, r.stdout) == (0, "deployment.apps/web restarted\n")
    annotations = fake.obj("deployments", "web")["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"kubectl.kubernetes.io/restartedAt": "2026-11-28T12:00:00Z"}


def test_autoscale_creates_a_v2_autoscaler(fake: FakeApi, kc: str) -> None:
    add_deployment(fake)
    r = cox(kc, "autoscale", "deploy/web", "--min", "2", "--max", "10", "--cpu-percent", "50")
    assert (r.exit_code, r.stdout) == (0, "horizontalpodautoscaler.autoscaling/web autoscaled\n")
    hpa = fake.obj("horizontalpodautoscalers", "web")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "web"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 50
    r = cox(kc, "autoscale", "deploy/nope", "--max", "3")
    assert r.exit_code == 3 and "not found" in r.stderr
    r = cox(kc, "autoscale", "po/x", "--max", "3")
    assert r.exit_code == 2 and "cannot be autoscaled" in r.stderr
