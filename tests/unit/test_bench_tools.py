"""The benchmark scripts' own logic: what they read from a run, and that a
measurement runs at all (the figures themselves are the benches' business)."""

from __future__ import annotations

import json

import pytest

from tests.bench import decision_bench, hollow_ab, metadata_informer_bench

HOLLOW_OUTPUT = """
1. Deployment of 1000 pods on 100 hollow nodes
  created (seen by a watch): 1000 pods in   8.58 s =  116.6 pods/s
  Running, end to end: 1000 pods in  12.76 s =   78.3 pods/s
  CPU per pod: masters 11.3 ms, hollow nodes 12.0 ms
"""


def test_hollow_ab_reads_the_end_to_end_rate_and_the_cpu_per_pod():
    assert hollow_ab.parse(HOLLOW_OUTPUT) == hollow_ab.Figures(78.3, 11.3, 12.0)


def test_hollow_ab_reads_the_rollout_phase_with_rollout():
    out = HOLLOW_OUTPUT + """
2. rolling update of all 1000 pods
  replaced, end to end: 1000 pods in  29.14 s =   34.3 pods/s
  CPU per replaced pod: masters 23.9 ms, hollow nodes 15.2 ms
"""
    assert hollow_ab.parse(out, rollout=True) == hollow_ab.Figures(34.3, 23.9, 15.2)
    with pytest.raises(ValueError, match="no phase-2 figures"):
        hollow_ab.parse(HOLLOW_OUTPUT, rollout=True)


def test_hollow_ab_names_a_run_that_printed_no_figures():
    with pytest.raises(ValueError, match="no phase-1 figures"):
        hollow_ab.parse("Traceback ...\nSystemExit: 3 masters did not start")


def test_hollow_ab_ratios_are_medians_of_the_rounds():
    f = hollow_ab.Figures
    new = [f(100, 10, 10), f(60, 12, 9), f(90, 10, 10)]
    base = [f(50, 20, 10), f(60, 12, 10), f(100, 10, 5)]
    assert hollow_ab.ratios(new, base) == f(1.0, 1.0, 1.0)


def test_decision_bench_measures_a_decision():
    assert decision_bench.measure(nodes=5, n=60) > 0


def test_a_metadata_informer_holds_less_than_a_full_one():
    from master.objects import ObjectStore
    from raftstore.memory import MemoryStore
    objects = ObjectStore(MemoryStore())
    metadata_informer_bench.fill(objects, 50, data=4000)
    full, _ = metadata_informer_bench.one(objects, metadata_only=False)
    meta, _ = metadata_informer_bench.one(objects, metadata_only=True)
    assert meta < full - 50 * 4000 / 1e6  # at least the data is not kept


def test_side_by_side_prints_the_base_median_and_the_median_ratio():
    from tests.bench.sidebyside import versus
    line = versus([100.0, 90.0, 300.0], [200.0, 100.0, 150.0])
    assert "base    150 us" in line and "new/base x0.90" in line
    assert "(rounds: 0.50 0.90 2.00)" in line


def test_drain_bench_counts_what_one_drain_reads():
    from tests.bench import drain_bench

    api = drain_bench.SimulatedApi(nodes=10, pods=2, behind=0, lag=0.0)
    lease_list = len(json.dumps({"kind": "LeaseList", "items": api.leases}).encode())
    got = drain_bench.measure(nodes=10, pods=2, behind=0, lag=0.0, drains=1)
    # nobody behind: the Endpoints and the leader's record of the proxies, once
    # each, and not the Leases
    assert got["requests"] == 2 and 0 < got["kib"] * 1024 < lease_list / 2


def test_the_sync_bench_times_a_job_sync_as_well_as_a_replicaset_one():
    from tests.bench import rs_sync_bench

    assert rs_sync_bench.measure("job", 20, 2) > 0
    assert rs_sync_bench.measure("replicaset", 20, 2) > 0


def test_the_read_bench_measures_every_read():
    from tests.bench import read_bench

    got = read_bench.measure(3, pods=200)
    assert set(got) == set(read_bench.READS)
    assert all(f["server_cpu_us"] > 0 and f["p50_us"] > 0 for f in got.values())


def test_the_correlator_bench_measures_one_event():
    from tests.bench import correlator_bench

    assert correlator_bench.measure(50, 20) > 0


def test_the_event_collector_bench_measures_an_hour_of_passes():
    from tests.bench import eventgc_bench

    assert eventgc_bench.measure(50) > 0


def test_the_parallel_bench_measures_a_call():
    from tests.bench import parallel_bench

    assert parallel_bench.measure(4, 2, 0.1) > 0
