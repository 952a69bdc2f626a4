"""Importing the store must leave the socket module as it was: pysyncobj's
Windows shim replaces socket.inet_ntop on every platform."""

import socket
import subprocess
import sys


def test_importing_the_replica_keeps_socket_inet_ntop_working():
    code = ("import raftstore.replica, socket; "
            "print(socket.inet_ntop(socket.AF_INET, socket.inet_pton(socket.AF_INET, '10.0.0.1')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "10.0.0.1"
    assert socket.inet_ntop(socket.AF_INET, b"\x0a\x00\x00\x01") == "10.0.0.1"
