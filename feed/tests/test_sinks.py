"""The direct writers of live events (feed/sinks.py): one write of the event's bytes, nothing for a gone
client, and False (disconnect) for a client BUFFER_LIMIT behind."""

from types import SimpleNamespace

from websockets.protocol import State

from feed.session import sse_frame, websocket_frame
from feed.sinks import BUFFER_LIMIT, SSESink, WebSocketSink, sse_chunk

MESSAGE = {"id": "7", "type": "bed.updated", "topic": "hospital.1.beds", "data": {"bed_id": 3}}


class Transport:
    def __init__(self, buffered=0):
        self.buffered, self.written = buffered, []

    def get_write_buffer_size(self):
        return self.buffered

    def write(self, data):
        self.written.append(data)


def sse(transport, **state):
    values = {"disconnected": False, "response_complete": False, "chunked_encoding": True, **state}
    return SSESink(SimpleNamespace(transport=transport, **values))


def websocket(transport, **state):
    values = {"disconnected": False, "close_sent": False, "conn": SimpleNamespace(state=State.OPEN), **state}
    return WebSocketSink(SimpleNamespace(transport=transport, **values))


def test_sse_sink_writes_the_chunk_or_the_bare_frame():
    chunked, plain = Transport(), Transport()
    assert sse(chunked).write(MESSAGE) is True
    assert sse(plain, chunked_encoding=False).write(MESSAGE) is True
    assert chunked.written == [sse_chunk(MESSAGE)]
    assert plain.written == [sse_frame(MESSAGE)]


def test_websocket_sink_writes_the_text_frame():
    transport = Transport()
    assert websocket(transport).write(MESSAGE) is True
    assert transport.written == [websocket_frame(MESSAGE)]


def test_a_client_too_far_behind_is_refused_and_nothing_is_written():
    for make in (sse, websocket):
        at_limit, behind = Transport(BUFFER_LIMIT), Transport(BUFFER_LIMIT + 1)
        assert make(at_limit).write(MESSAGE) is True
        assert make(behind).write(MESSAGE) is False
        assert len(at_limit.written) == 1
        assert behind.written == []


def test_a_gone_client_gets_nothing_and_is_left_to_its_stream():
    gone = [
        (sse, {"disconnected": True}),
        (sse, {"response_complete": True}),
        (websocket, {"disconnected": True}),
        (websocket, {"close_sent": True}),
        (websocket, {"conn": SimpleNamespace(state=State.CLOSING)}),
    ]
    for make, state in gone:
        transport = Transport(BUFFER_LIMIT + 1)
        assert make(transport, **state).write(MESSAGE) is True
        assert transport.written == []
