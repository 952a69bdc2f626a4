"""What the request handlers share: the stores, the watch caches, the config and the
shutdown flag."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app

from raftstore import Store

from ..eventleases import EventLeases
from ..objects import ObjectStore
from ..signing import SigningKey
from ..usagehistory import UsageHistory
from ..watchcache import WatchCaches
from .config import ApiConfig
from .rbacauthz import RbacAuthorizer
from .storehealth import LeaderTracker
from .watch import Broadcaster


@dataclass
class ApiState:
    config: ApiConfig
    store: Store
    objects: ObjectStore
    event_leases: EventLeases
    leader: LeaderTracker
    stopping: threading.Event
    watchers: Broadcaster  # the open watch streams, on the server's event loop
    caches: WatchCaches  # one per kind, feeding ``watchers`` and resourceVersion=0 lists
    signing: SigningKey  # the masters' shared key (tokens for nodes, ServiceAccounts)
    rbac: RbacAuthorizer
    # controller name -> keys queued, while this master leads (for /metrics)
    queue_depths: Callable[[], dict[str, int]] = dict
    usage: UsageHistory = field(default_factory=UsageHistory)  # nodes' last hour, for /ui/usage


def state() -> ApiState:
    return current_app.extensions["coxswain"]
