"""The ASGI application: the whole API, plus the change feed's SSE stream and WebSocket.

`make run` serves everything with it; in production gunicorn (WSGI) serves REST and this serves
`/api/v1/events/stream` and `/ws/` behind the proxy (README, deploy/).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms.settings")
# This process serves requests: its database statements have a time limit (DB_STATEMENT_TIMEOUT_MS).
os.environ.setdefault("HMS_SERVING_REQUESTS", "1")
django_application = get_asgi_application()

from feed.consumers import EventsConsumer  # noqa: E402  (after Django is set up)
from feed.sinks import with_send_in_scope  # noqa: E402

# The SSE view writes live events to the server's transport itself (feed/sinks.py).
http_application = with_send_in_scope(django_application)
events_socket = EventsConsumer.as_asgi()


async def application(scope, receive, send):
    """HTTP to Django; the one WebSocket path to the feed (a router's copy of the scope per open
    connection is memory an idle WebSocket does not need)."""
    if scope["type"] == "http":
        return await http_application(scope, receive, send)
    if scope["type"] == "websocket":
        if scope["path"] == "/ws/v1/events":
            return await events_socket(scope, receive, send)
        await receive()  # websocket.connect
        return await send({"type": "websocket.close", "code": 1000})  # no such socket: refused (HTTP 403)
    raise ValueError(f"No application for ASGI {scope['type']!r} connections.")  # lifespan: the server goes on
