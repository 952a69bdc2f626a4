"""The scheduler: a pure core (``core.schedule``: filters then scores over a
snapshot) and the leader-only loop that feeds it and commits bindings."""

from .core import Binding, Unschedulable, schedule
from .snapshot import NodeInfo, Snapshot

__all__ = ["Binding", "NodeInfo", "Snapshot", "Unschedulable", "schedule"]
