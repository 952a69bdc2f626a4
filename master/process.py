"""One master: a raftstore replica, the API server, and — while this replica
is the Raft leader — the controller manager (scheduler and controllers).

Leadership changes arrive on a store thread that must not block, so they only
record the new state and wake ``_leadership_loop``, which starts or stops the
controllers. The system namespaces are created in the background by whichever
master first finds them missing.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from coxapi import pidlock, private
from coxapi.supervisor import Supervisor
from raftstore import Store

from . import gcpauses
from .admission.kubernetesservice import ensure_kubernetes_service, follow_membership
from .admission.namespaces import ensure_system_namespaces
from .admission.rbacdefaults import ensure_default_rbac
from .api import create_app, state_of
from .asgi import ApiApp
from .auth import FileTokenAuthenticator
from .config import MasterConfig
from .encryptedstore import EncryptingStore
from .encryption import load as load_encryption
from .leader import ControllerManager
from .objects import ObjectStore
from .server import ApiServer
from .storage.bootstrap import ensure_default_storage_class
from .ui import masters as ui_masters

log = logging.getLogger(__name__)
STOP_TIMEOUT = 5.0  # seconds to join the master's own threads (the controllers stop within 1)


def _controller_manager(objects: ObjectStore, cfg: MasterConfig) -> Any:
    return ControllerManager(objects, replace(cfg.controllers, event_ttl=float(cfg.event_ttl)))


def raft_store(config: MasterConfig) -> Store:
    from raftstore import RaftStore

    secret = Path(config.cluster_secret_file).read_text().strip()
    if not secret:
        raise ValueError(f"the cluster secret file {config.cluster_secret_file} is empty")
    return RaftStore(replace(config.raft, self_addr=config.raft_addr, peers=list(config.peers),
                             data_dir=config.data_dir, secret=secret))


def _bootstrap(objects: ObjectStore, cfg: MasterConfig, stop: threading.Event) -> None:
    ensure_system_namespaces(objects, stop)
    ensure_default_rbac(objects, stop)
    ensure_kubernetes_service(objects, *cfg.listen_address, stop,
                              service_cidr=cfg.controllers.service_cidr, raft_addr=cfg.raft_addr)


def raft_members(store: Store) -> set[str] | None:
    """The Raft members and learners, on the leader (None elsewhere, or without Raft)."""
    membership = getattr(store, "membership", None)
    if membership is None or not store.is_leader():
        return None
    return {m["id"] for m in membership.view()["members"]}


class Master:
    def __init__(self, config: MasterConfig,
                 store_factory: Callable[[MasterConfig], Store] = raft_store,
                 controller_factory: Callable[[ObjectStore, MasterConfig], Any] | None = None,
                 ) -> None:
        self.config = config
        self._store_factory = store_factory
        self._controller_factory = controller_factory or _controller_manager
        self.store: Store | None = None
        self.objects: ObjectStore | None = None
        self.server: ApiServer | None = None
        self._api_state: Any = None
        self._threads = Supervisor(f"master {config.name}")
        self._leadership = threading.Condition()
        self._want_leader = False
        self._controllers: Any = None
        self._pidlock: pidlock.PidLock | None = None

    def start(self) -> None:
        cfg = self.config
        gcpauses.install(cfg.gc_threshold, cfg.gc_full_threshold)
        tls = cfg.tls_files()
        private.private_dir(cfg.data_dir)
        private.restrict_tree(cfg.data_dir)  # what an older version left readable
        # who runs on this data dir, for `cox cluster down`; refuses a second master
        self._pidlock = pidlock.acquire(Path(cfg.data_dir) / pidlock.MASTER_PIDFILE)
        authenticator = FileTokenAuthenticator(cfg.token_file)
        transformer = load_encryption(cfg.encryption_config_file) \
            if cfg.encryption_config_file else None
        store = self._store_factory(cfg)
        self.store = EncryptingStore(store, transformer) if transformer else store
        objects = self.objects = ObjectStore(self.store)
        agent_tls = ssl.create_default_context(cafile=cfg.ca_file) if tls else None
        app = create_app(replace(cfg.api, name=cfg.name, authenticator=authenticator,
                                 event_ttl_seconds=cfg.event_ttl, agent_tls=agent_tls),
                         self.store, objects)
        self._api_state = state_of(app)
        self._api_state.queue_depths = self._queue_depths
        self._api_state.caches.start_all()
        host, port = cfg.listen_address
        self.server = ApiServer(ApiApp(app, threads=cfg.threads), host, port, tls=tls)
        self.server.start()
        self.store.add_leadership_listener(self._on_leadership)
        self._on_leadership(self.store.is_leader())
        self._threads.spawn("leadership", self._leadership_loop)
        self._threads.spawn("bootstrap", lambda stop: _bootstrap(objects, cfg, stop), oneshot=True)
        url = ui_masters.api_url(cfg.listen, tls is not None)  # for the dashboard's Raft view
        self._threads.spawn("ui-presence", lambda stop: ui_masters.run_presence(
            objects, self.store, cfg.name, url, stop))
        store_ = self.store
        self._threads.spawn("follow-membership", lambda stop: follow_membership(
            objects, lambda: raft_members(store_), stop))
        self._threads.spawn("bootstrap-storage",
                            lambda stop: ensure_default_storage_class(objects, stop), oneshot=True)

    def _queue_depths(self) -> dict[str, int]:
        running = self._controllers
        if running is None or not getattr(running, "running", False):
            return {}
        return {c.name: len(c.queue) for c in getattr(running, "controllers", [])}

    def _on_leadership(self, is_leader: bool) -> None:
        with self._leadership:
            self._want_leader = is_leader
            self._leadership.notify_all()

    def _leadership_loop(self, stop: threading.Event) -> None:
        running = False
        while True:
            with self._leadership:
                while self._want_leader == running and not stop.is_set():
                    self._leadership.wait()
                want = self._want_leader and not stop.is_set()
            if want and not running:
                running = self._start_controllers()
            elif not want and running:
                self._stop_controllers()
                running = False
            if stop.is_set():
                break
        self._stop_controllers()

    def _start_controllers(self) -> bool:
        log.info("this master is the Raft leader: starting the controllers")
        assert self.objects is not None, "start() made the object store"
        try:
            self._controllers = self._controller_factory(self.objects, self.config)
            self._controllers.start()
        except Exception:  # noqa: BLE001 - the API must keep serving
            log.exception("the controller manager failed to start")
            self._controllers = None
        return True

    def _stop_controllers(self) -> None:
        if self._controllers is None:
            return
        log.info("stopping the controllers")
        try:
            self._controllers.stop()
        except Exception:  # noqa: BLE001
            log.exception("the controller manager failed to stop cleanly")
        self._controllers = None

    def stop(self) -> None:
        """Stop the controllers, then the API server (ending watches), then the store."""
        log.info("shutting down")
        self._threads.stop()
        with self._leadership:
            self._leadership.notify_all()
        self._threads.join(STOP_TIMEOUT)
        if self._api_state is not None:
            self._api_state.stopping.set()
        if self.server is not None:
            self.server.stop()
        if self._api_state is not None:
            self._api_state.caches.stop()
        if self.store is not None:
            self.store.close()
        if self._pidlock is not None:
            self._pidlock.release()
        log.info("stopped")
