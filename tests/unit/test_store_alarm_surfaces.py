"""The store's NOSPACE alarm shows in /readyz (still ready: deletes are how a
full store recovers) and in `cox cluster status`."""

from __future__ import annotations

from cli.commands.cluster_status import MasterView, master_rows

from .api_harness import Api

FULL = {"role": "leader", "leader": "a", "has_quorum": True, "commit_index": 5,
        "applied_index": 5, "alarms": ["NOSPACE"], "live_bytes": 990, "quota_bytes": 1000}


def test_readyz_stays_ready_and_names_the_nospace_alarm(monkeypatch):
    api = Api()
    monkeypatch.setattr(api.store, "status", lambda: FULL)
    r = api.get("/readyz", token=None)
    assert r.status_code == 200
    assert r.data.decode().splitlines() == [
        "ok", "alarm: NOSPACE (live data 990 of quota 1000 bytes: writes that grow it are "
              "refused until objects are deleted)"]
    monkeypatch.setattr(api.store, "status", lambda: {**FULL, "alarms": []})
    assert api.get("/readyz", token=None).data == b"ok\n"


def test_the_store_status_reports_alarms_and_live_size():
    s = Api().store.status()
    assert (s["alarms"], s["quota_bytes"] > 0, s["live_bytes"] >= 0) == ([], True, True)


def test_cluster_status_shows_the_alarm_next_to_the_master():
    rows = master_rows([MasterView("a:1", {**FULL, "name": "m1", "term": 2})])
    assert rows[1][-1] == "reachable, alarm NOSPACE"
