"""The Vagrant cluster's files are valid: the Vagrantfile (``vagrant validate``,
which needs no provider) and the provisioning scripts (``bash -n``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "scripts" / "provision").glob("*.sh"))


@pytest.mark.skipif(not shutil.which("vagrant"), reason="vagrant is not installed")
def test_vagrantfile_validates_and_makes_one_set_of_credentials(tmp_path):
    # A copy, so the credentials it writes next to itself land in tmp_path.
    shutil.copy(ROOT / "vagrant" / "Vagrantfile", tmp_path / "Vagrantfile")
    env = {**os.environ, "VAGRANT_CWD": str(tmp_path), "VAGRANT_HOME": str(tmp_path / ".vh")}
    done = subprocess.run(["vagrant", "validate"], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = (tmp_path / ".secrets" / "tokens.csv").read_text().splitlines()
    users = [r.split(",")[1] for r in rows]
    assert users == ["admin", "system:node:n1", "system:node:n2"]
    assert (tmp_path / ".secrets" / "n2.token").read_text().strip() == rows[2].split(",")[0]
    assert (tmp_path / ".secrets" / "cluster-secret").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_provision_scripts_parse(script):
    assert os.access(script, os.X_OK)
    done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_systemd_units_run_cox_with_secrets_from_files_only():
    for unit in ("coxswain-master.service", "coxswain-node.service"):
        text = (ROOT / "scripts" / "provision" / "systemd" / unit).read_text()
        assert "ExecStart=/usr/local/bin/cox " in text
        assert "--token-file /etc/coxswain/" in text
        assert "Restart=always" in text
