"""The demo image's build context, and the seal table's rule plan (pure parts)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.commands.cluster import cluster
from localcluster import image, seal
from localcluster.spec import ClusterSpec


def fake_files(tmp_path: Path, busybox: bytes = b"\x7fELF") -> dict[str, Path]:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "start.sh").write_text("#!/bin/sh\n")
    (tmp_path / "bb").write_bytes(busybox)
    return image.context_files(tmp_path, tmp_path / "bb")


def test_build_context_holds_dockerfile_start_script_and_busybox(tmp_path):
    files = fake_files(tmp_path)
    with tarfile.open(fileobj=io.BytesIO(image.context_tar(files))) as tar:
        assert sorted(tar.getnames()) == ["Dockerfile", "busybox", "start.sh"]
        assert tar.getmember("busybox").mode & 0o111


def test_context_digest_changes_with_any_file(tmp_path):
    a = image.digest(fake_files(tmp_path))
    assert a == image.digest(fake_files(tmp_path))
    assert a != image.digest(fake_files(tmp_path, busybox=b"\x7fELF2"))


def test_missing_busybox_is_a_clear_error(tmp_path):
    with pytest.raises(image.ImageError, match="busybox-static"):
        image.context_files(tmp_path, tmp_path / "no-busybox")


def test_the_real_demo_context_is_complete():
    files = image.context_files()
    assert "COPY busybox /bin/busybox" in files["Dockerfile"].read_text()
    assert "8080" in files["start.sh"].read_text()


def test_seal_rules_accept_bridged_drop_the_rest_and_count_untranslated():
    spec = ClusterSpec(dir=Path("/c"))
    r = seal.rules(spec)
    assert len(r["forward"]) == len(seal.FORWARD_RULES)
    assert len(r["ingress"]) == len(seal.INGRESS_RULES)

    def names(rule):
        return [e["attrs"][0][1] for e in rule]

    accept, escaped, intruded = r["forward"]
    assert names(accept) == ["meta", "cmp", "meta", "cmp", "immediate"]
    assert names(escaped) == ["meta", "cmp", "counter", "immediate"]
    assert names(intruded) == ["meta", "cmp", "counter", "immediate"]
    for rule in r["ingress"]:
        assert names(rule)[-1] == "counter"  # counts only: the blackhole route drops
        assert "payload" in names(rule) and "bitwise" in names(rule)


def test_bad_command_line_input_gets_a_one_line_error():
    res = CliRunner().invoke(cluster, ["up", "--masters", "0"])
    assert res.exit_code == 2 and "--masters" in res.output
    assert "Traceback" not in res.output
