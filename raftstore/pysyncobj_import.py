"""pysyncobj, imported without its side effect on the socket module.

pysyncobj's ``win_inet_pton`` (pulled in by its TCP transport) assigns its
Windows-only ``inet_ntop`` to ``socket.inet_ntop`` on every platform, which
breaks ``socket.inet_ntop`` for everything else in the process (seen as
netproxy rejecting every valid address once a store had been imported).
Import pysyncobj only through this module.
"""

import socket

_inet_ntop = socket.inet_ntop
from pysyncobj import SyncObj, SyncObjConf, SyncObjConsumer, replicated  # noqa: E402
from pysyncobj import journal as pysyncobj_journal  # noqa: E402

socket.inet_ntop = _inet_ntop

__all__ = ["SyncObj", "SyncObjConf", "SyncObjConsumer", "pysyncobj_journal", "replicated"]
