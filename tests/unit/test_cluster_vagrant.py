"""The Vagrant cluster's files are valid: the Vagrantfile (``vagrant validate
--ignore-provider``, which needs no provider) and the provisioning scripts
(``bash -n``); and each VM receives only the credentials its role needs, as
Vagrant itself loads the Vagrantfile (``vagrant_plan.rb``). Ruby and rsync
come with Debian's vagrant package (./dev installs it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from coxapi import pki

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "scripts" / "provision").glob("*.sh"))
PLAN = Path(__file__).with_name("vagrant_plan.rb")
needs_vagrant = pytest.mark.skipif(not shutil.which("vagrant"), reason="vagrant is not installed")


@pytest.fixture
def vagrant_dir(tmp_path) -> tuple[Path, dict[str, str]]:
    """A copy of the Vagrantfile in ``repo/vagrant`` (the tree it syncs is
    ``repo``), so the credentials it writes next to itself land in tmp_path."""
    here = tmp_path / "repo" / "vagrant"
    here.mkdir(parents=True)
    shutil.copy(ROOT / "vagrant" / "Vagrantfile", here / "Vagrantfile")
    (tmp_path / "repo" / "README.md").write_text("the source tree\n")
    env = {**os.environ, "VAGRANT_CWD": str(here), "VAGRANT_HOME": str(tmp_path / ".vh")}
    return here, env


@needs_vagrant
def test_vagrantfile_validates_and_makes_one_set_of_credentials(vagrant_dir):
    here, env = vagrant_dir
    done = subprocess.run(["vagrant", "validate", "--ignore-provider"], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = (here / ".secrets" / "tokens.csv").read_text().splitlines()
    users = [r.split(",")[1] for r in rows]
    assert users == ["admin", "system:node:n1", "system:node:n2"]
    assert (here / ".secrets" / "n2.token").read_text().strip() == rows[2].split(",")[0]
    assert (here / ".secrets" / "cluster-secret").stat().st_mode & 0o777 == 0o600
    # the CA it makes in Ruby is one `cox master init --master-name` can issue from
    ca = pki.load_ca(pki.PkiDir(here / ".secrets"))
    assert (here / ".secrets" / "ca.key").stat().st_mode & 0o777 == 0o600
    served = pki.issue_serving(ca, "m1", ["192.168.56.11"])
    assert pki.still_good(served.cert_pem, ca.cert_pem, ["192.168.56.11"])
    # each agent's certificate, made in Ruby, is one the masters accept
    agent = (here / ".secrets" / "node-n2.crt").read_bytes()
    assert pki.still_good(agent, ca.cert_pem, ["n2", "192.168.56.22"])
    assert (here / ".secrets" / "node-n2.key").stat().st_mode & 0o777 == 0o600


@needs_vagrant
def test_each_vm_receives_only_the_credentials_of_its_role(vagrant_dir, tmp_path):
    here, env = vagrant_dir
    done = subprocess.run(["ruby", str(PLAN)], cwd=here, capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    plan = json.loads(done.stdout)
    assert sorted(plan) == ["m1", "m2", "m3", "n1", "n2"]
    secrets = here / ".secrets"
    values = {f.name: f.read_text().strip() for f in secrets.iterdir()}
    values |= {f"token of {r.split(',')[1]}": r.split(",")[0]
               for r in values.pop("tokens.csv").splitlines()}
    for vm, got in plan.items():
        uploads = {Path(p["source"]).relative_to(secrets).as_posix()
                   for p in got["provisioners"] if p["type"] == "file"}
        want = ({"cluster-secret", "tokens.csv", "ca.crt", "ca.key"} if vm.startswith("m")
                else {f"{vm}.token", "ca.crt", f"node-{vm}.crt", f"node-{vm}.key"})
        assert uploads == want, vm
        assert not any(".secrets" in (p["inline"] or "") for p in got["provisioners"]), vm
        # what the synced folders copy, copied the way Vagrant's rsync does it
        for i, folder in enumerate(f for f in got["synced"] if not f["disabled"]):
            assert folder["type"] == "rsync", f"{vm}: only a one-way copy can leave files out"
            dest = tmp_path / f"{vm}-{i}"
            excludes = [a for e in [".vagrant/", *folder["exclude"]] for a in ("--exclude", e)]
            subprocess.run(["rsync", "--archive", *excludes, folder["host"] + "/", str(dest)],
                           check=True, timeout=60)
            assert (dest / "README.md").exists()
            copied = "\n".join(f.read_text(errors="replace") for f in dest.rglob("*")
                               if f.is_file())
            leaked = [name for name, value in values.items() if value in copied]
            assert not leaked, f"{vm} gets {leaked} through the synced folder {folder['guest']}"


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
