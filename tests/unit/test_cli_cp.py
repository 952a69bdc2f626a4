"""``cox cp``'s pure parts (remote specs, the tar round trip with its guards)
and ``cox port-forward``'s port specs."""

from __future__ import annotations

import io
import tarfile

import pytest

from cli.commands.cp import Remote, extract, local_target, parse_spec, remote_split, write_tar
from cli.commands.portforward import parse_port_spec
from cli.errors import UsageFailure


def test_remote_specs_and_local_paths(tmp_path):
    assert parse_spec("web:/tmp/x") == Remote(None, "web", "/tmp/x")
    assert parse_spec("prod/web:data") == Remote("prod", "web", "data")
    assert parse_spec("./local/file") is None and parse_spec("a/b/c:d") is None
    existing = tmp_path / "a:b"
    existing.write_text("")
    assert parse_spec(str(existing)) is None
    with pytest.raises(UsageFailure):
        parse_spec("web:")


def test_remote_paths_split_into_directory_and_name():
    assert remote_split("/tmp/x/") == ("/tmp", "x")
    assert remote_split("x") == (".", "x")
    for bad in ("/", ".", "/tmp/.."):
        with pytest.raises(UsageFailure):
            remote_split(bad)


def test_names_outside_the_copied_tree_are_refused(tmp_path):
    assert local_target(tmp_path, "d", "d/a/b") == tmp_path / "a" / "b"
    assert local_target(tmp_path, "d", "d") == tmp_path
    for bad in ("e/a", "d/../../etc/passwd", "/d/a", ""):
        assert local_target(tmp_path, "d", bad) is None


def test_a_directory_round_trips_and_links_are_skipped(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f.bin").write_bytes(bytes(range(256)) * 1000)
    (src / "run.sh").write_text("echo hi\n")
    (src / "run.sh").chmod(0o755)
    (src / "link").symlink_to("/etc/passwd")
    buf = io.BytesIO()
    write_tar(src, "d", buf)
    extra = tarfile.TarInfo("d/../escape")
    buf2 = io.BytesIO()
    with tarfile.open(fileobj=buf2, mode="w") as t:
        t.addfile(extra, io.BytesIO(b""))
    dest = tmp_path / "dest"
    skipped = extract(io.BytesIO(buf.getvalue()), dest, "d")
    assert skipped == ["d/link"]
    assert (dest / "sub" / "f.bin").read_bytes() == bytes(range(256)) * 1000
    assert (dest / "run.sh").stat().st_mode & 0o777 == 0o755
    assert extract(io.BytesIO(buf2.getvalue()), tmp_path / "other", "d") == ["d/../escape"]
    assert not (tmp_path / "escape").exists()


def test_port_forward_specs():
    assert parse_port_spec("8080") == (8080, 8080)
    assert parse_port_spec("9000:80") == (9000, 80)
    assert parse_port_spec(":80") == (0, 80)
    for bad in ("x", "80:", "0", "70000", "1:2:3"):
        with pytest.raises(UsageFailure):
            parse_port_spec(bad)
