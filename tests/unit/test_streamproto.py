"""The exec channel protocol and Docker's stream frames (coxapi.streamproto)."""

from __future__ import annotations

import json

import pytest

from coxapi import errors
from coxapi import streamproto as sp


def test_v5_is_preferred_and_unknown_protocols_are_refused():
    assert sp.negotiate(sp.offered("v4.channel.k8s.io, v5.channel.k8s.io")) == sp.V5
    assert sp.negotiate(["v4.channel.k8s.io", "channel.k8s.io"]) == sp.V4
    assert sp.negotiate(sp.offered("base64.channel.k8s.io")) is None
    assert sp.negotiate(sp.offered(None)) is None


def test_frames_carry_their_channel_and_v5_close_signals_are_told_apart():
    assert sp.frame(sp.STDOUT, b"hi") == b"\x01hi"
    assert sp.unframe(b"\x02err") == (sp.STDERR, b"err")
    with pytest.raises(ValueError):
        sp.unframe(b"")
    assert sp.closed_channel(sp.close_signal(sp.STDIN)) == sp.STDIN
    assert sp.closed_channel(b"\x00\x00") is None and sp.closed_channel(b"\xff") is None


def test_exit_status_is_what_kubectl_reads_an_exit_code_from():
    assert sp.exit_status(0, ["true"]) == {"metadata": {}, "status": "Success"}
    st = sp.exit_status(3, ["sh", "-c", "exit 3"])
    assert st["status"] == "Failure" and st["reason"] == "NonZeroExitCode"
    assert st["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    assert sp.exit_code(json.loads(json.dumps(st))) == 3
    assert sp.exit_code(sp.success()) == 0
    assert sp.exit_code(sp.failure("boom")) is None


def test_resize_messages():
    assert sp.resize(b'{"Width":120,"Height":40}') == (120, 40)
    assert sp.unframe(sp.resize_message(80, 24)) == (sp.RESIZE, b'{"Width": 80, "Height": 24}')
    for bad in (b"", b"{}", b'{"Width":0,"Height":3}', b'{"Width":"x","Height":3}', b"[]"):
        assert sp.resize(bad) is None


def test_exec_options_name_the_field_at_fault():
    opts = sp.exec_options({"command": ["sh", "-c", "exit 3"], "stdin": ["true"],
                            "stdout": ["1"], "tty": ["false"], "container": ["app"]})
    assert opts == sp.ExecOptions(["sh", "-c", "exit 3"], True, True, False, False, "app")
    with pytest.raises(errors.BadRequest, match="^command:"):
        sp.exec_options({"stdout": ["true"]})
    with pytest.raises(errors.BadRequest, match="^stdin, stdout, stderr:"):
        sp.exec_options({"command": ["ls"]})
    with pytest.raises(errors.BadRequest, match="^stderr:"):
        sp.exec_options({"command": ["ls"], "tty": ["true"], "stderr": ["true"]})


def test_docker_frames_are_split_whatever_the_chunking():
    stream = (sp.DockerDemux.encode(1, b"out") + sp.DockerDemux.encode(2, b"err!")
              + sp.DockerDemux.encode(1, b"") + sp.DockerDemux.encode(1, b"x" * 70000))
    for size in (1, 7, 8, 9, 1000, len(stream)):
        d = sp.DockerDemux()
        got = [f for i in range(0, len(stream), size) for f in d.feed(stream[i:i + size])]
        joined: dict[int, bytes] = {}
        for channel, data in got:
            joined[channel] = joined.get(channel, b"") + data
        assert joined == {sp.STDOUT: b"out" + b"x" * 70000, sp.STDERR: b"err!"}
