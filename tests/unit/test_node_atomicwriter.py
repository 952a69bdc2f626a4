"""The AtomicWriter: Kubernetes' ``..data`` symlink swap."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from node.atomicwriter import DATA_DIR, AtomicWriter, FileProjection, PayloadError


def test_first_write_makes_a_timestamped_dir_data_link_and_name_links(tmp_path):
    w = AtomicWriter(str(tmp_path / "vol"), clock=lambda: 1_800_000_000)
    assert w.write({"a.conf": FileProjection(b"one"), "sub/b": FileProjection(b"two", 0o600)})
    vol = tmp_path / "vol"
    ts = os.readlink(vol / DATA_DIR)
    assert ts.startswith("..2027_01_15_08_00_00.")
    assert (vol / ts).is_dir() and not (vol / ts).is_symlink()
    assert os.readlink(vol / "a.conf") == "..data/a.conf"
    assert os.readlink(vol / "sub") == "..data/sub"
    assert (vol / "a.conf").read_bytes() == b"one"
    assert (vol / "sub" / "b").read_bytes() == b"two"
    assert os.stat(vol / "sub" / "b").st_mode & 0o777 == 0o600
    assert os.stat(vol / "a.conf").st_mode & 0o777 == 0o644
    assert sorted(os.listdir(vol)) == sorted([ts, DATA_DIR, "a.conf", "sub"])


def test_update_swaps_data_removes_old_dir_and_stale_names(tmp_path):
    vol = tmp_path / "vol"
    w = AtomicWriter(str(vol))
    w.write({"a": FileProjection(b"1"), "gone": FileProjection(b"x")})
    old = os.readlink(vol / DATA_DIR)
    assert w.write({"a": FileProjection(b"2"), "new": FileProjection(b"n")})
    new = os.readlink(vol / DATA_DIR)
    assert new != old and not (vol / old).exists()
    assert (vol / "a").read_bytes() == b"2" and (vol / "new").read_bytes() == b"n"
    assert not os.path.lexists(vol / "gone")
    assert sorted(os.listdir(vol)) == sorted([new, DATA_DIR, "a", "new"])


def test_same_payload_is_not_rewritten(tmp_path):
    w = AtomicWriter(str(tmp_path / "vol"))
    w.write({"a": FileProjection(b"1")})
    before = w.current()
    assert not w.write({"a": FileProjection(b"1")})
    assert w.current() == before
    assert w.write({"a": FileProjection(b"1", 0o400)})  # a mode change is a change


def test_empty_payload_leaves_only_the_data_link(tmp_path):
    vol = tmp_path / "vol"
    w = AtomicWriter(str(vol))
    w.write({"a": FileProjection(b"1")})
    w.write({})
    assert sorted(n for n in os.listdir(vol) if not n.startswith("..")) == []
    assert os.listdir(vol / os.readlink(vol / DATA_DIR)) == []


def test_leftovers_of_an_interrupted_write_are_cleaned_up(tmp_path):
    vol = tmp_path / "vol"
    w = AtomicWriter(str(vol))
    w.write({"a": FileProjection(b"1")})
    os.mkdir(vol / "..2020_01_01_00_00_00.000000001")  # a crash after mkdir
    os.symlink("nowhere", vol / "..data_tmp")
    w.write({"a": FileProjection(b"2")})
    assert sorted(os.listdir(vol)) == sorted([os.readlink(vol / DATA_DIR), DATA_DIR, "a"])


@pytest.mark.parametrize("path", ["/abs", "../up", "a/../../b", "..hidden", ""])
def test_paths_that_could_escape_are_refused(tmp_path, path):
    with pytest.raises(PayloadError):
        AtomicWriter(str(tmp_path / "vol")).write({path: FileProjection(b"x")})
    assert not (tmp_path / "vol").exists()


def test_a_reader_sees_the_old_or_the_new_payload_never_a_mix(tmp_path):
    vol = tmp_path / "vol"
    w = AtomicWriter(str(vol))
    w.write({"x": FileProjection(b"0"), "y": FileProjection(b"0")})
    stop = threading.Event()
    seen: list[tuple[bytes, bytes]] = []

    def read() -> None:
        while not stop.is_set():
            try:
                data = os.path.realpath(vol / DATA_DIR)
                seen.append((Path(data, "x").read_bytes(),
                             Path(data, "y").read_bytes()))
            except FileNotFoundError:
                pass  # the old directory went away between realpath and open: retry
    t = threading.Thread(target=read)
    t.start()
    for i in range(1, 200):
        v = str(i).encode()
        w.write({"x": FileProjection(v), "y": FileProjection(v)})
    stop.set()
    t.join()
    assert seen and all(x == y for x, y in seen)
