"""The streams of exec and attach over plain SPDY (coxapi.execstreams): which
the options call for, how each maps to a channel of the agent's WebSocket
protocol, the version negotiation and the resize stream's JSON."""

from __future__ import annotations

import pytest

from coxapi import errors, execstreams
from coxapi import streamproto as sp
from coxapi.execstreams import ERROR, RESIZE, STDERR, STDIN, STDOUT, ResizeReader, Streams


def opts(stdin: bool = False, stdout: bool = True, stderr: bool = True,
         tty: bool = False) -> sp.ExecOptions:
    return sp.ExecOptions(["sh"], stdin, stdout, stderr, tty, None)


def test_the_streams_expected_are_the_kubelets():
    assert execstreams.expected(opts()) == {ERROR, STDOUT, STDERR}
    assert execstreams.expected(opts(stdin=True)) == {ERROR, STDIN, STDOUT, STDERR}
    # a terminal merges stderr into stdout and has its sizes sent
    assert execstreams.expected(opts(stdin=True, stderr=True, tty=True)) == \
        {ERROR, STDIN, STDOUT, RESIZE}
    assert execstreams.expected(opts(stdout=False, stderr=False, stdin=True)) == {ERROR, STDIN}


def test_streams_map_to_the_agents_channels():
    s = Streams(execstreams.expected(opts(stdin=True)))
    assert s.open(1, {"streamtype": ["error"]}) == ERROR
    assert s.open(3, {"streamtype": ["stdin"]}) == STDIN
    assert s.open(5, {"streamtype": ["stdout"]}) == STDOUT
    assert not s.ready
    assert s.open(7, {"streamtype": ["stderr"]}) == STDERR
    assert s.ready
    assert [s.for_channel(c) for c in (sp.STDIN, sp.STDOUT, sp.STDERR, sp.ERROR, sp.RESIZE)] == \
        [None, 5, 7, 1, None]  # only what the agent writes has a client stream
    assert s.role(3) == STDIN and s.role(9) is None
    assert s.outputs() == [5, 7, 1]


@pytest.mark.parametrize("headers, message", [
    ({"streamtype": ["stdin"]}, 'streamType: "stdin" is not one of error, stderr, stdout'),
    ({}, 'streamType: "" is not one of'),
    ({"streamtype": ["error"]}, "streamType: a second error stream"),
])
def test_a_bad_stream_is_a_400_naming_the_header(headers, message):
    s = Streams(execstreams.expected(opts()))
    s.open(1, {"streamtype": ["error"]})
    with pytest.raises(errors.BadRequest, match=message):
        s.open(3, headers)
    assert s.ids == {ERROR: 1}


def test_the_clients_first_version_spoken_here_is_chosen():
    assert execstreams.negotiate(["v4.channel.k8s.io", "v3.channel.k8s.io"],
                                 execstreams.EXEC_VERSIONS) == "v4.channel.k8s.io"
    assert execstreams.negotiate(["portforward.k8s.io"], execstreams.FORWARD_VERSIONS) == \
        "portforward.k8s.io"
    with pytest.raises(errors.BadRequest, match=r"^X-Stream-Protocol-Version: none of "
                                                r"\[v3.channel.k8s.io\] is spoken here; offer "
                                                r"v4.channel.k8s.io"):
        execstreams.negotiate(["v3.channel.k8s.io"], execstreams.EXEC_VERSIONS)
    with pytest.raises(errors.BadRequest, match="none of"):
        execstreams.negotiate([], execstreams.EXEC_VERSIONS)


def test_resize_documents_become_one_message_each_across_frames():
    r = ResizeReader()
    assert r.feed(b'{"Width":80,"Height":24}\n{"Width":1') == [sp.resize_message(80, 24)]
    assert r.feed(b'00,"Height":40}\n') == [sp.resize_message(100, 40)]
    assert r.feed(b"  \n") == []


@pytest.mark.parametrize("data", [b"nonsense", b'{"Width":0,"Height":3}', b'{"Width":"x"}',
                                  b"[1, 2]"])
def test_a_resize_stream_that_is_no_sizes_is_refused(data):
    with pytest.raises(ValueError, match="^resize:"):
        ResizeReader().feed(data)
