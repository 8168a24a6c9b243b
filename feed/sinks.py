"""Writing a live event straight to a connection's socket: bytes encoded once per event, one write per connection.

Once a stream is live (everything before its live events sent), the hub hands each event to every
subscriber on the event loop. Going through each connection's ASGI `send` would wake one task per
connection per event and, for WebSocket, frame the same text again for each of them (measured: a
Python process then spends 20-30 µs per connection and event, and 2,000 connections saturate a core
at 20 events/s). So the hub writes the event's bytes to the connection's transport itself: for SSE
the HTTP/1.1 chunk of the event's frame, for WebSocket the text frame (a server's frames are not
masked, so the same bytes serve every connection). This needs the transport, which ASGI does not
expose: `sink_for()` finds it behind uvicorn's `send` (the httptools HTTP and the sans-I/O
websockets implementations, which deploy/entrypoint.sh runs). Under any other server or
implementation there is no sink, and the session sends each event through ASGI as before.
"""

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext
from websockets.protocol import State

from feed.session import Message, sse_frame, websocket_frame

# A client this many bytes behind is disconnected (it reconnects with Last-Event-ID and replays).
BUFFER_LIMIT = 4 * 1024 * 1024
SEND_KEY = "hms.feed.send"  # where `with_send_in_scope` leaves the server's `send` for the SSE view
STREAM_PATH = "/api/v1/events/stream"


def sse_chunk(message: dict) -> bytes:
    """The event's SSE frame as one HTTP/1.1 chunk (encoded once per event)."""
    chunk = getattr(message, "_chunk", None)
    if chunk is None:
        frame = sse_frame(message)
        chunk = b"%x\r\n%b\r\n" % (len(frame), frame)
        if isinstance(message, Message):
            message._chunk = chunk
    return chunk


def write_unless_behind(transport, frame: bytes) -> bool:
    """Write the frame; False (nothing written: disconnect the client) when it is BUFFER_LIMIT behind.
    (The frame is encoded once per event for every client, so one left behind adds no encoding.)"""
    if transport.get_write_buffer_size() > BUFFER_LIMIT:
        return False
    transport.write(frame)
    return True


class SSESink:
    """An SSE response of uvicorn's httptools implementation, after its headers were sent."""

    __slots__ = ("cycle",)

    def __init__(self, cycle):
        self.cycle = cycle

    def write(self, message: dict) -> bool:
        """False: the client is too far behind (disconnect it). A gone client is left to its stream's end."""
        cycle = self.cycle
        if cycle.disconnected or cycle.response_complete:
            return True
        return write_unless_behind(
            cycle.transport, sse_chunk(message) if cycle.chunked_encoding else sse_frame(message)
        )


class WebSocketSink:
    """A WebSocket of uvicorn's sans-I/O websockets implementation, while it is open."""

    __slots__ = ("protocol",)

    def __init__(self, protocol):
        self.protocol = protocol

    def write(self, message: dict) -> bool:
        protocol = self.protocol
        if protocol.disconnected or protocol.close_sent or protocol.conn.state is not State.OPEN:
            return True
        return write_unless_behind(protocol.transport, websocket_frame(message))


def sink_for(send):
    """The direct writer behind an ASGI `send`, or None (then events go through `send`)."""
    owner = getattr(send, "__self__", None)
    module = type(owner).__module__
    if module == "uvicorn.protocols.http.httptools_impl" and hasattr(owner, "transport"):
        return SSESink(owner)
    if module == "uvicorn.protocols.websockets.websockets_sansio_impl" and hasattr(owner, "transport"):
        return WebSocketSink(owner)
    return None


# Django runs a request's sync middleware on a thread of its own, kept until the request ends: for
# a stream, a thread per open connection. Streams share this one instead (middleware runs only
# while a stream starts; the stream's own database work goes through feed.hub.in_thread).
_stream_middleware_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed-stream-sync")


def with_send_in_scope(application):
    """ASGI middleware for the SSE path: the view finds the server's `send` in its request's scope
    (`SEND_KEY`), and the request's sync middleware runs on the streams' shared thread."""

    async def wrapped(scope, receive, send):
        if scope["type"] != "http" or scope["path"].rstrip("/") != STREAM_PATH:
            return await application(scope, receive, send)
        scope[SEND_KEY] = send
        async with ThreadSensitiveContext(executor=_stream_middleware_thread):
            return await application(scope, receive, send)

    return wrapped
