"""The browser layer runs wherever the suite runs: ./dev installs Debian's
chromium and chromium-driver, the test extra has Selenium, the ``browser``
marker is registered, and ./dev test (what .ci/run and the README run) selects
no marker away. Also the pure part of the harness: Chromium's key pins."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import tomllib
from configparser import ConfigParser
from pathlib import Path

from coxapi import pki
from tests.browser.cluster import spki_pin

ROOT = Path(__file__).resolve().parents[2]


def test_dev_installs_chromium_and_its_driver():
    debs = " ".join(re.findall(r"^DEBS\+?=\((.*)\)$", (ROOT / "dev").read_text(), re.M)).split()
    assert {"chromium", "chromium-driver"} <= set(debs)


def test_the_test_extra_has_selenium():
    cfg = ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert any(line.strip().startswith("selenium")
               for line in cfg["options.extras_require"]["test"].splitlines())


def test_the_browser_marker_is_registered_and_ci_runs_every_layer():
    ini = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert any(m.startswith("browser:") for m in ini["markers"])
    assert "tests" in ini["testpaths"] and "-m" not in ini["addopts"].split()
    assert "exec ./dev test" in (ROOT / ".ci" / "run").read_text()
    assert re.search(r'^    exec "\$VENV/bin/python" -m pytest "\$@"$', (ROOT / "dev").read_text(),
                     re.M)
    assert "sudo ./dev test " in (ROOT / "README.md").read_text()


def test_spki_pin_is_what_chromium_expects(tmp_path):
    """The recipe of Chromium's --ignore-certificate-errors-spki-list, done with openssl."""
    pair = pki.issue_serving(pki.new_ca(), "m1", ["10.0.0.1"])
    (tmp_path / "m1.crt").write_bytes(pair.cert_pem)
    der = subprocess.run(
        f"openssl x509 -in {tmp_path / 'm1.crt'} -pubkey -noout | "
        "openssl pkey -pubin -outform der", shell=True, capture_output=True, check=True).stdout
    assert spki_pin(pair.cert_pem) == base64.b64encode(hashlib.sha256(der).digest()).decode()
