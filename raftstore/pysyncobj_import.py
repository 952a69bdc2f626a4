"""pysyncobj, imported without its side effect on the socket module, and
checked for the private names raftstore hooks.

pysyncobj's ``win_inet_pton`` (pulled in by its TCP transport) assigns its
Windows-only ``inet_ntop`` to ``socket.inet_ntop`` on every platform, which
breaks ``socket.inet_ntop`` for everything else in the process (seen as
netproxy rejecting every valid address once a store had been imported).
Import pysyncobj only through this module.

``replica.py`` and ``journal.py`` override and call pysyncobj internals
(docs/raftstore.md, "What raftstore changes in pysyncobj"). A renamed
internal would not fail: the override would silently stop being called and
the journal would silently stop being synced. So the import fails instead,
naming what is missing and the pysyncobj version the hooks were written for.
"""

import socket
from importlib.metadata import PackageNotFoundError, version

_inet_ntop = socket.inet_ntop
from pysyncobj import SyncObj, SyncObjConf, SyncObjConsumer, replicated  # noqa: E402
from pysyncobj import journal as pysyncobj_journal  # noqa: E402
from pysyncobj import pickle as pysyncobj_pickle  # noqa: E402
from pysyncobj.config import FAIL_REASON  # noqa: E402
from pysyncobj.node import TCPNode  # noqa: E402
from pysyncobj.poller import POLL_EVENT_TYPE  # noqa: E402
from pysyncobj.syncobj import SyncObjException  # noqa: E402
from pysyncobj.tcp_connection import CONNECTION_STATE, TcpConnection  # noqa: E402
from pysyncobj.transport import TCPTransport  # noqa: E402

socket.inet_ntop = _inet_ntop

SUPPORTED_VERSION = "0.3.17"  # setup.cfg pins exactly this

# SyncObj methods that PipelinedSyncObj overrides or calls by name
SYNCOBJ_METHODS = (
    "_SyncObj__sendAppendEntries",
    "_SyncObj__sendNextNodeIdx",
    "_SyncObj__applyLogEntries",
    "_SyncObj__getCurrentLogIndex",
    "_SyncObj__getCurrentLogTerm",
    "_SyncObj__generateRaftTimeout",
    "_SyncObj__connectedToAnyone",
    "_SyncObj__onLeaderChanged",
    "_SyncObj__onMessageReceived",
    "_SyncObj__doChangeCluster",
    "_SyncObj__updateClusterConfiguration",
    "_checkCommandsToApply",
    "_applyCommand",
    "_SyncObj__callErrCallback",
    "_onTick",
    "_getLeader",
    "addOnTickCallback",
)
# attributes SyncObj.__init__ sets that PipelinedSyncObj reads or intercepts
SYNCOBJ_ATTRIBUTES = (
    "_SyncObj__raftLog",
    "_SyncObj__conf",
    "_SyncObj__otherNodes",
    "_SyncObj__readonlyNodes",
    "_SyncObj__connectedNodes",
    "_SyncObj__raftMatchIndex",
    "_SyncObj__lastResponseTime",
    "_SyncObj__raftNextIndex",
    "_SyncObj__raftCurrentTerm",
    "_SyncObj__raftCommitIndex",
    "_SyncObj__raftLastApplied",
    "_SyncObj__recvTransmission",
    "_SyncObj__pipeNotifier",
    "_SyncObj__commandsQueue",
    "_SyncObj__raftState",
    "_SyncObj__raftElectionDeadline",
    "_SyncObj__raftLeader",
    "_SyncObj__selfNode",
    "_SyncObj__transferInProgress",
    "_SyncObj__transport",
    "_poller",
)
# FileJournal methods DurableJournal wraps to learn what is not yet on disk
JOURNAL_METHODS = ("add", "deleteEntriesFrom", "deleteEntriesTo", "clear", "setCurrentTerm",
                   "_destroy")
CONSUMER_METHODS = ("_deserialize",)
# TcpConnection methods GuardedConnection overrides (peerguard.py) and the
# attributes it reads; TCPTransport methods GuardedTransport overrides
CONNECTION_METHODS = ("_TcpConnection__processRead", "_TcpConnection__processParseMessage",
                      "_TcpConnection__tryReadBuffer", "_TcpConnection__processConnection",
                      "_TcpConnection__trySendBuffer", "connect", "disconnect", "send",
                      "setSockoptKeepalive")
CONNECTION_ATTRIBUTES = ("_TcpConnection__readBuffer", "_TcpConnection__writeBuffer",
                         "_TcpConnection__lastReadTime", "_TcpConnection__socket",
                         "_TcpConnection__fileno", "_TcpConnection__state",
                         "_TcpConnection__poller", "_TcpConnection__sendBufferSize",
                         "_TcpConnection__recvBufferSize", "recvRandKey", "sendRandKey",
                         "encryptor")
TRANSPORT_METHODS = ("_onNewIncomingConnection", "addNode", "dropNode", "_onTick")
TRANSPORT_ATTRIBUTES = ("_connections", "_syncObj")


class UnsupportedPysyncobj(ImportError):
    pass


def _init_assigns(cls: type) -> set[str]:
    init = getattr(cls, "__init__", None)
    return set(getattr(getattr(init, "__code__", None), "co_names", ()))


def missing_hooks(syncobj: type = SyncObj, journal: type = pysyncobj_journal.FileJournal,
                  consumer: type = SyncObjConsumer, connection: type = TcpConnection,
                  transport: type = TCPTransport) -> list[str]:
    """The hooked names the given classes lack (qualified by class)."""
    missing = [f"SyncObj.{n}" for n in SYNCOBJ_METHODS if not callable(getattr(syncobj, n, None))]
    missing += [f"SyncObj.{n}" for n in SYNCOBJ_ATTRIBUTES if n not in _init_assigns(syncobj)]
    missing += [f"FileJournal.{n}" for n in JOURNAL_METHODS
                if not callable(getattr(journal, n, None))]
    missing += [f"SyncObjConsumer.{n}" for n in CONSUMER_METHODS
                if not callable(getattr(consumer, n, None))]
    missing += [f"TcpConnection.{n}" for n in CONNECTION_METHODS
                if not callable(getattr(connection, n, None))]
    missing += [f"TcpConnection.{n}" for n in CONNECTION_ATTRIBUTES
                if n not in _init_assigns(connection)]
    missing += [f"TCPTransport.{n}" for n in TRANSPORT_METHODS
                if not callable(getattr(transport, n, None))]
    missing += [f"TCPTransport.{n}" for n in TRANSPORT_ATTRIBUTES
                if n not in _init_assigns(transport)]
    return missing


def installed_version() -> str:
    try:
        return version("pysyncobj")
    except PackageNotFoundError:
        return "unknown"


def check_hooks(syncobj: type = SyncObj, journal: type = pysyncobj_journal.FileJournal,
                consumer: type = SyncObjConsumer, connection: type = TcpConnection,
                transport: type = TCPTransport) -> None:
    """Raise ``UnsupportedPysyncobj`` unless every hooked name exists."""
    missing = missing_hooks(syncobj, journal, consumer, connection, transport)
    if missing:
        raise UnsupportedPysyncobj(
            f"raftstore supports pysyncobj=={SUPPORTED_VERSION}; the installed pysyncobj "
            f"{installed_version()} lacks {', '.join(missing)} (install "
            f"pysyncobj=={SUPPORTED_VERSION})")


check_hooks()

__all__ = ["CONNECTION_STATE", "FAIL_REASON", "POLL_EVENT_TYPE", "SUPPORTED_VERSION", "SyncObj", "SyncObjConf", "SyncObjConsumer", "SyncObjException", "TCPNode",
           "TCPTransport",
           "TcpConnection", "check_hooks",
           "pysyncobj_journal", "pysyncobj_pickle", "replicated"]
