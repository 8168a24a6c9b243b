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

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (after Django is set up)
from django.urls import path  # noqa: E402

from feed.consumers import EventsConsumer  # noqa: E402
from feed.sinks import with_send_in_scope  # noqa: E402

application = ProtocolTypeRouter(
    {
        # The SSE view writes live events to the server's transport itself (feed/sinks.py).
        "http": with_send_in_scope(django_application),
        "websocket": URLRouter([path("ws/v1/events", EventsConsumer.as_asgi())]),
    }
)
