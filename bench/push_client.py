"""bench/push.py's clients: SSE streams and WebSocket connections on bare asyncio sockets, run in
PUSH_CLIENT_PROCESSES processes that the benchmark steers through a pipe. A sampled client notes each
event with its arrival time; the latencies are parsed after the run, so that the client is not what is
measured.
"""

import asyncio
import json
import os
import time
from datetime import datetime


def latency_ms(arrived: float, payload: bytes) -> tuple[int, float] | None:
    """(event id, milliseconds from its `at` (written in the booking's transaction) to `arrived`)."""
    message = json.loads(payload)
    at = message.get("at")
    if not at or message.get("type") in ("subscribed", "snapshot"):
        return None
    return message["id"], (arrived - datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()) * 1000


async def sse_client(port: int, topic: str, arrivals: list | None, opened: list) -> None:
    """An SSE stream; a sampled one notes each `data:` line with its arrival time (parsed after the run)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    writer.write(f"GET /api/v1/events/stream?topics={topic} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    opened[0] += 1
    if arrivals is None:
        while await reader.read(1 << 16):  # not sampled: read and drop, as cheaply as a client can
            pass
        return
    while line := await reader.readline():
        if line.startswith(b"data: "):
            arrivals.append((time.time(), line[6:]))


async def ws_client(port: int, topic: str, arrivals: list | None, opened: list) -> None:
    """A WebSocket client on the bare socket (RFC 6455 framing: it answers pings; a sampled one notes
    each text frame with its arrival time): a library's per-message cost would be the client's, not
    the server's, and 1,000 of them would make the client process the bottleneck."""
    import base64

    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            "GET /ws/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(f"websocket handshake refused: {head[:40]!r}")
    writer.write(masked(0x1, json.dumps({"action": "subscribe", "topics": [topic]}).encode()))
    buffer = b""
    counted = False
    while data := await reader.read(1 << 16):
        arrived = time.time()
        buffer += data
        while len(buffer) >= 2:
            length, start = buffer[1] & 0x7F, 2
            if length == 126:
                length, start = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                length, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + length:
                break
            opcode, payload, buffer = buffer[0] & 0x0F, buffer[start : start + length], buffer[start + length :]
            if opcode == 0x1:
                if not counted:  # the `subscribed` reply
                    counted = True
                    opened[0] += 1
                elif arrivals is not None:
                    arrivals.append((arrived, payload))
            elif opcode == 0x9:
                writer.write(masked(0xA, payload))
            elif opcode == 0x8:
                return


def masked(opcode: int, payload: bytes) -> bytes:
    """One client-to-server frame (clients mask; a zero mask keeps the payload as it is)."""
    assert len(payload) < 126
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + b"\0\0\0\0" + payload


def client_process(pipe, port: int, topic: str, kinds: list[str], numbers: list[int], sampled: int) -> None:
    """One of PUSH_CLIENT_PROCESSES client processes; the parent steers it through `pipe`:
    ("open", upto) opens its clients numbered below `upto`, ("mark",) starts the CPU clock, ("stop",)
    returns its latencies and the CPU share it used since the mark."""
    asyncio.run(_client_process(pipe, port, topic, kinds, numbers, sampled))


async def _client_process(pipe, port, topic, kinds, numbers, sampled) -> None:
    loop = asyncio.get_running_loop()
    arrivals: dict[str, list] = {"sse": [], "websocket": []}
    opened, tasks, done = [0], [], 0
    clock = (0.0, 0.0)
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command[0] == "open":
            mine = [n for n in numbers[done:] if n < command[1]]
            for index, n in enumerate(mine):
                for kind in kinds:
                    sample = arrivals[kind] if n < sampled else None
                    client = sse_client if kind == "sse" else ws_client
                    tasks.append(asyncio.create_task(client(port, topic, sample, opened)))
                if index % 50 == 49:
                    await asyncio.sleep(0.1)
            done += len(mine)
            expected = done * len(kinds)
            deadline = time.monotonic() + 120
            while opened[0] < expected and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            failed = [task for task in tasks if task.done() and task.exception()]
            pipe.send(("opened", opened[0], repr(failed[0].exception()) if failed else ""))
        elif command[0] == "mark":
            clock = (time.process_time(), time.monotonic())
            pipe.send(("marked",))
        elif command[0] == "stop":
            cpu = (time.process_time() - clock[0]) / max(time.monotonic() - clock[1], 1e-9)
            for task in tasks:
                task.cancel()
            latencies = {
                kind: [timed for arrived, payload in found if (timed := latency_ms(arrived, payload)) is not None]
                for kind, found in arrivals.items()
            }
            pipe.send(("result", latencies, cpu))
            return
