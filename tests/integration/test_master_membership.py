"""Membership change with real master processes on loopback: `cox master
add` brings a 4th master in (it catches up, then takes part), `cox master
remove` shrinks the quorum, the documented replacement of a dead master loses
no acknowledged write (docs/membership.md), and bad changes answer 4xx and
change nothing."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from tests.chaos.workload import check_history, configmap, history_run
from tests.masters import COX, Master, MasterCluster
from tests.support import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def cox(mc: MasterCluster, *args: str, servers: list[Master] | None = None) -> str:
    urls = [a for m in (servers or live(mc)) for a in ("-s", m.url)]
    done = subprocess.run([*COX, "--kubeconfig", str(mc.dir / "kubeconfig"), *urls, *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def live(mc: MasterCluster) -> list[Master]:
    return [m for m in mc.masters if m.proc is not None and m.proc.alive()]


def members(mc: MasterCluster) -> list[str]:
    view = mc.session().get(live(mc)[0].url + "/raft/members", timeout=5).json()
    return sorted(m["id"] for m in view["members"])


def configmaps(m: Master, mc: MasterCluster) -> dict[str, dict]:
    items = mc.client_at(m).list("ConfigMap", "default")["items"]
    return {cm["metadata"]["name"]: cm.get("data", {}) for cm in items}


def test_a_fourth_master_catches_up_takes_part_and_removal_shrinks_the_quorum(tmp_path):
    mc = MasterCluster.create(tmp_path)
    try:
        client = mc.client()
        for n in range(30):
            client.create(configmap(f"before-{n}", {"n": str(n)}))
        m4 = mc.start_joining("m4", mc.masters[:3])
        out = cox(mc, "master", "add", "--address", m4.raft, "--api", m4.url,
                  servers=mc.masters[:3])
        assert "added m4" in out and "caught up" in out
        assert members(mc) == sorted(m.raft for m in mc.masters)
        # it has every object, as the others do
        wait_until(lambda: configmaps(m4, mc) == configmaps(mc.masters[0], mc), 15,
                   what="m4 holds what m1 holds")
        status = cox(mc, "cluster", "status")
        assert "MEMBERS" in status and status.count("voter") == 4
        # it takes part: with the leader killed, 3 of 4 remain, m4 among them,
        # and 3 are a majority of 4 only with m4
        leader = wait_until(mc.leader, 10, what="a leader")
        assert leader.proc is not None
        leader.proc.kill()
        survivors = mc.client_at(*live(mc), timeout=10)
        wait_until(lambda: survivors.create(configmap("after-kill", {})), 20,
                   what="a write after the leader was killed")
        # remove the dead master: 3 members, so 2 are a quorum (of 4 they were not)
        cox(mc, "master", "remove", leader.raft)  # dead: by address
        assert leader.raft not in members(mc)
        follower = next(m for m in live(mc) if m is not mc.leader())
        assert follower.proc is not None
        follower.proc.kill()
        rest = mc.client_at(*live(mc), timeout=10)
        wait_until(lambda: rest.create(configmap("two-of-three", {})), 20,
                   what="a write with 2 of the 3 members")
        # a restarted member comes back with the changed membership, not its flags
        follower.start()
        wait_until(lambda: follower.raft_status(mc.token)["applied_index"] > 0
                   and len(follower.raft_status(mc.token)["peers"]) == 2, 30,
                   what="the restarted master with two peers")
        assert "two-of-three" in wait_until(lambda: configmaps(follower, mc), 10)
    except BaseException:
        print(mc.logs())
        raise
    finally:
        mc.stop()


def test_replacing_a_dead_master_loses_nothing(tmp_path):
    """docs/membership.md, "Replacing a dead master": the leader dies; remove
    it at once (the others still name it as leader until they have elected
    one: the change waits for that), add m4, then the new leader is killed;
    writers run throughout."""
    mc = MasterCluster.create(tmp_path)
    with history_run(mc) as writers:
        hist = writers.hist
        dead = wait_until(mc.leader, 10, what="a leader")
        m1, m2 = (m for m in mc.masters if m is not dead)
        writers.start_on(mc, [m1, m2], per_master=1, timeout=5)
        assert dead.proc is not None
        dead.proc.kill()  # its machine is gone
        cox(mc, "master", "remove", dead.raft, servers=[m1, m2])
        m4 = mc.start_joining("m4", [m1, m2])
        cox(mc, "master", "add", "--address", m4.raft, "--api", m4.url)
        writers.start_on(mc, [m4], per_master=1, timeout=5)
        wait_until(lambda: len(hist.versions) >= 50, 30, what="50 writes with m4 a member")
        leader = wait_until(mc.leader, 10, what="a leader")
        assert leader.proc is not None
        killed = time.monotonic()
        leader.proc.kill()
        wait_until(lambda: hist.first_ack_sent_after(killed), 20,
                   what="an acknowledged write after the leader was killed")
        leader.start()  # back from its own data directory, with the changed membership
        wait_until(lambda: leader.raft_status(mc.token)["leader"], 30, 0.1,
                   what=f"{leader.name} back and following a leader")
        wait_until(lambda: len(hist.versions) >= 100, 30, what="more writes")
        writers.stop()
        stores = check_history(hist, {m.name: mc.client_at(m, timeout=5)
                                      for m in (m1, m2, m4)})
        assert len(stores) == 3
        print(f"\nreplacement: {len(hist.creates)} creates and {hist.increments} increments "
              f"acknowledged, none lost")


def test_bad_changes_answer_4xx_and_change_nothing(tmp_path):
    mc = MasterCluster.create(tmp_path)
    try:
        s = mc.session()
        leader = wait_until(mc.leader, 10, what="a leader")
        url = leader.url + "/raft/members"
        before = members(mc)

        def refused(r, code: int, words: str, learner: str | None = None) -> None:
            assert r.status_code == code, r.text
            assert r.json()["kind"] == "Status" and words in r.json()["message"], r.text
            # a learner being caught up (the change in flight) may be listed, or gone
            # already when its time ran out; nothing else may have changed
            assert set(members(mc)) - {learner} == set(before)

        refused(s.delete(url + "/127.0.0.1:1", timeout=10), 404, "not a member")
        refused(s.post(url, json={"address": "no-port"}, timeout=10), 400, "address")
        refused(s.post(url, json=["x"], timeout=10), 400, "address")
        refused(s.post(url, json={"address": "127.0.0.1:2", "catchUpSeconds": "x"},
                       timeout=10), 400, "catchUpSeconds")
        refused(s.post(url, json={"address": leader.raft}, timeout=10), 400, "already a member")
        # one of three down: removing another live one would leave 1 of 2. The
        # steps below need the leader to hear from the live one: a cluster just
        # elected may still be connecting to it (the leader's first vote came
        # from one peer), so wait until it hears from both before one is killed.
        wait_until(lambda: all(m["connected"] for m in s.get(url, timeout=5).json()["members"]
                               if m["id"] != leader.raft), 10,
                   what="the leader hearing from both other masters")
        down = next(m for m in mc.masters if m is not leader)
        assert down.proc is not None
        down.proc.kill()
        wait_until(lambda: not next(m for m in s.get(url, timeout=5).json()["members"]
                                    if m["id"] == down.raft)["connected"], 10,
                   what="the leader sees the master down")
        other = next(m for m in mc.masters if m is not leader and m is not down)
        refused(s.delete(f"{url}/{other.raft}", timeout=10), 409, "quorum")
        # a second change while one is in progress: an add whose new master never
        # starts, so it waits for it to catch up
        first: list = []
        t = threading.Thread(target=lambda: first.append(
            s.post(url, json={"address": "127.0.0.1:2", "catchUpSeconds": 5}, timeout=60)))
        t.start()
        def streaming() -> bool:
            # an answer already means the change ended early: name it, don't wait it out
            assert not first, f"the first change answered early: {first[0].status_code} " \
                              f"{first[0].text}"
            return any(m["id"] == "127.0.0.1:2" and not m["voter"]
                       for m in s.get(url, timeout=5).json()["members"])
        wait_until(streaming, 10, what="the first change streaming to its learner")
        refused(s.delete(f"{url}/{down.raft}", timeout=10), 409, "in progress",
                learner="127.0.0.1:2")
        t.join(60)
        refused(first[0], 409, "did not catch up")
    except BaseException:
        print(mc.logs())
        raise
    finally:
        mc.stop()
