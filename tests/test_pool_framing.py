"""The framing of messages between the server and its query workers (pool.frame, _send, _receive, Channel).

The worker writes its socket directly while the server reads with multiprocessing's Connection (before the
event loop runs) or with Channel (after): all three must agree on every size, and a message split across
reads must come out whole.
"""

from __future__ import annotations

import socket
import threading
from multiprocessing.connection import Connection

import pytest

from napkg.endpoint.pool import _INCOMPLETE, Channel, _receive, _send, frame, unframe
from napkg.sparql.engine import Answer

SIZES = [0, 1, 65535, 65536, 3 * 1024 * 1024]


def answer(size: int) -> tuple:
    return ("answer", Answer(200, bytes(i % 251 for i in range(size)), "text/csv", rows=size))


@pytest.mark.parametrize("size", SIZES)
def test_the_worker_side_round_trips_and_connection_reads_it(size):
    a, b = socket.socketpair()
    # A large message blocks its writer until the reader drains the socket, so the writer gets a thread.
    writer = threading.Thread(target=lambda: (_send(a, answer(size)), _send(a, ("ready", None))))
    writer.start()
    reader = Connection(b.detach())
    assert reader.recv() == answer(size)
    assert reader.recv() == ("ready", None)
    writer.join()
    a.close()


@pytest.mark.parametrize("size", SIZES)
def test_connection_writes_what_the_worker_side_reads(size):
    a, b = socket.socketpair()
    writer = Connection(a.detach())
    thread = threading.Thread(target=lambda: (writer.send(answer(size)), writer.send(("query", "ASK {}"))))
    thread.start()
    buffer = bytearray()
    assert _receive(b, buffer) == answer(size)
    assert _receive(b, buffer) == ("query", "ASK {}")
    assert buffer == bytearray()
    thread.join()
    writer.close()
    b.close()

    with pytest.raises(EOFError):  # the server's end closed: the worker's loop ends
        _receive(_closed(), bytearray())


def _closed() -> socket.socket:
    a, b = socket.socketpair()
    a.close()
    return b


def test_channel_reassembles_messages_split_anywhere():
    received = []
    channel = Channel()
    channel.handler = lambda message, failure: received.append((message, failure))
    stream = b"".join(b"".join(frame(m)) for m in [answer(10), answer(70_000), ("answer", None)])
    for start in range(0, len(stream), 7_777):  # pieces that cut heads and pickles alike
        channel.data_received(stream[start : start + 7_777])
    assert received == [(answer(10)[1], None), (answer(70_000)[1], None), (None, None)]
    assert channel.buffer == bytearray()


def test_channel_reads_several_whole_messages_from_one_read_and_keeps_a_partial_one():
    received = []
    channel = Channel()
    channel.handler = lambda message, failure: received.append(message)
    channel.data_received(b"".join(frame(answer(5))))  # the usual read: one whole message, read where it lies
    assert received == [answer(5)[1]] and channel.buffer == bytearray()
    received.clear()
    whole = b"".join(b"".join(frame(m)) for m in [answer(10), answer(20), answer(30)])
    head, data = frame(answer(40))
    channel.data_received(whole + head + data[:5])
    assert received == [answer(10)[1], answer(20)[1], answer(30)[1]]
    assert bytes(channel.buffer) == head + data[:5]  # the partial one waits for the rest
    channel.data_received(data[5:])
    assert received[-1] == answer(40)[1] and channel.buffer == bytearray()


def test_unframe_waits_for_the_whole_message():
    head, data = frame(answer(100))
    buffer = bytearray(head + data[:-1])
    assert unframe(buffer) is _INCOMPLETE and len(buffer) == len(head) + len(data) - 1  # still waiting
    buffer += data[-1:]
    assert unframe(buffer) == answer(100) and buffer == bytearray()


def test_a_closed_worker_is_reported_as_a_crash():
    failures = []
    channel = Channel()
    channel.handler = lambda message, failure: failures.append(type(failure).__name__)
    channel.connection_lost(None)
    assert failures == ["Crashed"]
