"""Three real masters: a Secret's value never reaches a master's files in
clear (journal, snapshot, logs), and every file they keep is private."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.masters import COX, MasterCluster
from tests.support import wait_until

pytestmark = pytest.mark.integration

MARKER = "s3cret-at-rest-marker-7f3a"


def _bytes_of_everything(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_secret_values_are_encrypted_and_files_private(tmp_path: Path) -> None:
    mc = MasterCluster.create(tmp_path, extra=["--raft-snapshot-entries", "20"])
    try:
        client = mc.client()
        client.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
                       "stringData": {"password": MARKER}})
        for i in range(30):  # enough entries for a snapshot of the state holding the Secret
            client.create({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": f"c{i}"}})
        wait_until(lambda: all(any(p.name == "raft.snapshot" for p in (tmp_path / m.name).iterdir())
                               for m in mc.masters), 30, 0.2, "a snapshot on every master")
        got = client.get("secrets", "db")
        assert base64.b64decode(got["data"]["password"]).decode() == MARKER
        kubeconfig = str(tmp_path / "kubeconfig")
        done = subprocess.run([*COX, "--kubeconfig", kubeconfig, "-s", mc.masters[0].url,
                               "secrets", "reencrypt"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "1 secrets rewritten" in done.stdout
    finally:
        mc.stop()
    b64 = base64.b64encode(MARKER.encode())
    for path, data in _bytes_of_everything(tmp_path).items():
        assert MARKER.encode() not in data and b64 not in data, f"{path} holds the value in clear"
    for p in tmp_path.iterdir():
        if p.is_dir():  # a master's data dir and all it holds
            assert stat.S_IMODE(p.stat().st_mode) == 0o700, p
            for f in p.rglob("*"):
                want = 0o700 if f.is_dir() else 0o600
                assert stat.S_IMODE(os.lstat(f).st_mode) == want, f
        elif p.suffix != ".log":  # credentials written by `cox master init`
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
