import pytest

from tests.bench.raft_cluster import RaftCluster


@pytest.fixture
def cluster():
    c = RaftCluster()
    try:
        c.start()
        yield c
    finally:
        print(c.logs())  # shown by pytest only when the test failed
        c.stop()
