"""The cluster's certificates: one CA, one serving certificate per master.

``new_ca`` and ``issue_serving`` are pure (time comes in as ``now``) and
return PEM bytes; ``ensure_ca`` and ``ensure_serving`` keep them in a
directory (0700, files 0600) and change nothing that is still good, so
``cox master init`` and ``cox cluster up`` may run any number of times.

Keys are ECDSA P-256: fast to make, and accepted by Python's ssl, Go's
crypto/tls (kubectl) and every browser. Clients verify a master against the
CA alone (``requests`` ``verify=<ca file>``); nothing here turns that off.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
SERVING_DAYS = 825  # the longest lifetime macOS and browsers accept for a server certificate
RENEW_BEFORE = dt.timedelta(days=30)  # a serving certificate closer to its end is re-issued
_BACKDATE = dt.timedelta(minutes=5)  # tolerate clocks a little behind the issuer's


@dataclass(frozen=True)
class KeyPair:
    cert_pem: bytes
    key_pem: bytes = b""


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "coxswain"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def new_ca(common_name: str = "coxswain-ca", *, now: dt.datetime | None = None,
           days: int = CA_DAYS) -> KeyPair:
    """A self-signed CA that may sign serving certificates and nothing below them."""
    key = _new_key()
    start = _now(now) - _BACKDATE
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder()
            .subject_name(_name(common_name)).issuer_name(_name(common_name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256()))
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def issue_serving(ca: KeyPair, common_name: str, hosts: Sequence[str], *,
                  now: dt.datetime | None = None, days: int = SERVING_DAYS,
                  peer: bool = False) -> KeyPair:
    """A TLS server certificate for ``hosts`` (IP addresses and DNS names), signed by ``ca``;
    ``peer``: for client authentication too (a member that both serves and dials its
    peers with it, as an etcd peer certificate)."""
    if not hosts:
        raise ValueError("a serving certificate needs at least one host")
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey), "new_ca makes EC keys"
    key = _new_key()
    start = _now(now) - _BACKDATE
    end = min(start + dt.timedelta(days=days), ca_cert.not_valid_after_utc)
    cert = (x509.CertificateBuilder()
            .subject_name(_name(common_name)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False,
                                         content_commitment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH]
                + ([ExtendedKeyUsageOID.CLIENT_AUTH] if peer else [])), critical=False)
            .add_extension(x509.SubjectAlternativeName([_san(h) for h in dict.fromkeys(hosts)]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def still_good(cert_pem: bytes, ca_pem: bytes, hosts: Sequence[str], *,
               now: dt.datetime | None = None) -> bool:
    """Whether a serving certificate was issued by this CA, names every host
    and has more than ``RENEW_BEFORE`` left to run."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        ca = x509.load_pem_x509_certificate(ca_pem)
        cert.verify_directly_issued_by(ca)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    if cert.not_valid_after_utc - RENEW_BEFORE <= _now(now):
        return False
    return all(_san(h) in names for h in hosts)


# ---- files --------------------------------------------------------------------


@dataclass(frozen=True)
class PkiDir:
    """DIR/ca.crt, DIR/ca.key and DIR/<master>.crt, DIR/<master>.key."""

    path: Path

    @property
    def ca_cert(self) -> Path:
        return self.path / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.path / "ca.key"

    def cert(self, name: str) -> Path:
        return self.path / f"{name}.crt"

    def key(self, name: str) -> Path:
        return self.path / f"{name}.key"


def _write_private(path: Path, data: bytes) -> None:
    """A 0600 file written atomically (never readable by others, even briefly)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def ensure_ca(pki: PkiDir) -> list[str]:
    """Make the CA unless both its files exist; returns the paths written."""
    _private_dir(pki.path)
    if pki.ca_cert.exists() and pki.ca_key.exists():
        return []
    ca = new_ca()
    _write_private(pki.ca_key, ca.key_pem)
    _write_private(pki.ca_cert, ca.cert_pem)
    return [str(pki.ca_key), str(pki.ca_cert)]


def load_ca(pki: PkiDir) -> KeyPair:
    return KeyPair(pki.ca_cert.read_bytes(), pki.ca_key.read_bytes())


def agent_cert_name(node: str) -> str:
    """The name of node ``node``'s agent's certificate in a PkiDir: ``node-<node>``
    (a master's is its own name, m1, m2, …, so the two never meet)."""
    return f"node-{node}"


def ensure_serving(pki: PkiDir, name: str, hosts: Sequence[str]) -> list[str]:
    """Issue ``name``'s serving certificate unless the one on disk is still good
    for ``hosts``; returns the paths written. The CA must exist."""
    ca = load_ca(pki)
    cert, key = pki.cert(name), pki.key(name)
    if cert.exists() and key.exists() and still_good(cert.read_bytes(), ca.cert_pem, hosts):
        return []
    pair = issue_serving(ca, name, hosts)
    _write_private(key, pair.key_pem)
    _write_private(cert, pair.cert_pem)
    return [str(key), str(cert)]


def ca_data(pki: PkiDir) -> str:
    """The CA certificate as a kubeconfig's ``certificate-authority-data``."""
    return base64.b64encode(pki.ca_cert.read_bytes()).decode()


def bundle_file(pem: bytes) -> str:
    """A file holding ``pem``, for clients (requests) that take a CA as a path:
    a kubeconfig carries it inline. Named by its digest in a private directory
    of the temporary one, so every process of this user shares one copy."""
    d = Path(tempfile.gettempdir()) / f"coxswain-ca-{os.getuid()}"
    d.mkdir(mode=0o700, exist_ok=True)
    if d.stat().st_uid != os.getuid() or d.is_symlink():
        raise PermissionError(f"{d} is not this user's own directory")
    path = d / f"{hashlib.sha256(pem).hexdigest()[:32]}.crt"
    if not path.exists() or path.read_bytes() != pem:
        _write_private(path, pem)
    return str(path)
