"""The dashboard on three real masters: one sign-in works on every master (the
sealed cookie), the Raft view names every master and the leader, and the
session keeps working on another master once the one that issued it is gone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.masters import MasterCluster
from tests.support import https_session, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MasterCluster]:
    mc = MasterCluster.create(Path(tmp_path_factory.mktemp("ui-masters")))
    try:
        yield mc
    finally:
        mc.stop()


def test_a_session_from_one_master_survives_its_loss(cluster: MasterCluster):
    http = https_session(cluster.ca_file)
    first, others = cluster.masters[0], cluster.masters[1:]
    r = http.post(first.url + "/ui/login", data={"token": cluster.token},
                  allow_redirects=False, timeout=10)
    assert r.status_code == 303
    cookie = {"Cookie": r.headers["Set-Cookie"].split(";")[0]}

    def view() -> dict:
        return http.get(others[0].url + "/ui/raft", headers=cookie, timeout=5).json()

    def all_published() -> bool:
        rows = view()["masters"]
        return {r["name"] for r in rows} == {"m1", "m2", "m3"} and all(
            r["reachable"] and r["term"] and r["commit_index"] for r in rows)

    wait_until(all_published, 30, 0.5, "every master in the Raft view")
    rows = view()["masters"]
    assert [r["role"] for r in rows].count("leader") == 1
    urls = http.get(first.url + "/ui/masters", headers=cookie, timeout=5).json()["urls"]
    assert urls[0] == first.url and set(urls) == {m.url for m in cluster.masters}

    assert first.proc is not None
    first.proc.stop()
    for m in others:  # the same cookie, opened by the masters that did not issue it
        s = http.get(m.url + "/ui/session", headers=cookie, timeout=5)
        assert s.status_code == 200 and s.json()["user"]
        page = http.get(m.url + "/ui/", headers=cookie, allow_redirects=False, timeout=5)
        assert page.status_code == 200 and 'id="conn"' in page.text
    wait_until(lambda: next(r for r in view()["masters"] if r["name"] == "m1")["role"]
               == "unreachable", 30, 0.5, "the stopped master shown unreachable")
