"""What one master reads at start: its settings, with their defaults written
once (here and in the sections' own dataclasses), loaded by ``coxapi.config``
from a YAML file (``cox master run --config FILE``), ``COX_MASTER_*``
variables and flags, in that order. docs/config.md lists every key."""

from __future__ import annotations

from dataclasses import dataclass, field

from coxapi.config import EVENT_TTL_SECONDS
from raftstore.config import StoreConfig, check_addr

from .api.config import ApiConfig
from .controllers.config import ControllerConfig

ENV_PREFIX = "COX_MASTER_"


@dataclass
class MasterConfig:
    name: str  # in logs and /status/raft
    listen: str  # HOST:PORT of the API server
    raft_addr: str  # HOST:PORT of this Raft replica
    data_dir: str  # the replica's journal and snapshot
    token_file: str
    cluster_secret_file: str
    # Kubernetes' EncryptionConfiguration (master.encryption); "": Secrets in clear
    encryption_config_file: str = ""
    peers: list[str] = field(default_factory=list)  # HOST:PORT of the other replicas
    tls_cert_file: str | None = None  # the API server's certificate (PEM), chain included
    tls_private_key_file: str | None = None
    insecure_http: bool = False  # serve plain HTTP instead (tests that need it); never default
    # The cluster CA node agents' certificates chain to; None: the system's CAs.
    # A master serving HTTPS reaches agents over TLS only; an insecure_http one in clear.
    ca_file: str | None = None
    threads: int = 128  # API worker threads for request/response calls (not watches)
    event_ttl: int = EVENT_TTL_SECONDS  # seconds an Event lives after its last occurrence
    # objects allocated (net) between the youngest garbage collections (Python's
    # default), and collections of the middle generation between full ones (Python:
    # 10): a full collection stops every thread, Raft's too (master/gcpauses.py)
    gc_threshold: int = 700
    gc_full_threshold: int = 100
    log_level: str = "INFO"
    api: ApiConfig = field(default_factory=ApiConfig)
    controllers: ControllerConfig = field(default_factory=ControllerConfig)
    raft: StoreConfig = field(default_factory=StoreConfig)

    def tls_files(self) -> tuple[str, str] | None:
        """(certificate, key) of the API server, or None for plain HTTP when that
        was asked for explicitly. Raises ValueError when neither is the case."""
        cert, key = self.tls_cert_file, self.tls_private_key_file
        if self.insecure_http:
            if cert or key:
                raise ValueError("insecure_http serves no certificate: drop tls_cert_file "
                                 "and tls_private_key_file, or insecure_http")
            return None
        if not (cert and key):
            raise ValueError("the API server serves HTTPS: tls_cert_file and "
                             "tls_private_key_file are required (insecure_http only for tests)")
        return cert, key

    @property
    def listen_address(self) -> tuple[str, int]:
        return check_addr(self.listen)
