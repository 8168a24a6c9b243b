"""The feed over HTTP: the SSE stream (ASGI), the JSON page for polling clients, stream tickets."""

import asyncio

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from feed import reader, topics
from feed.hub import in_thread, monotonic
from feed.session import Principal, Session, principal_from_token, sse_frame, ticket_issue, ticket_redeem
from feed.sinks import SEND_KEY, sink_for
from hms.api.middleware import error_response
from hms.api.schema import ErrorResponse404Serializer

EventOut = inline_serializer(
    "FeedEvent",
    {
        "id": serializers.IntegerField(),
        "at": serializers.DateTimeField(),
        "topic": serializers.CharField(),
        "type": serializers.CharField(),
        "data": serializers.DictField(),
    },
    many=True,
)
EventPageOut = inline_serializer(
    "FeedEventPage",
    {
        "results": EventOut,
        "last_id": serializers.IntegerField(help_text="Pass as `after` to get the next events."),
        "has_more": serializers.BooleanField(help_text="More events are ready: ask again at once."),
    },
)
TicketIn = inline_serializer("StreamTicketRequest", {"topics": serializers.ListField(child=serializers.CharField())})
TicketOut = inline_serializer(
    "StreamTicket", {"ticket": serializers.CharField(), "expires_at": serializers.DateTimeField()}
)
TOPICS_PARAMETER = OpenApiParameter(
    "topics", str, required=True, description="Comma-separated topics, e.g. `hospital.1.beds,hospital.1.slots`."
)


def _refusal(error: topics.TopicRefused):
    if error.status == 400:
        return ValidationError({"topics": [error.detail]}, code=error.code)
    if error.status == 401:
        return NotAuthenticated(error.detail, code=error.code)
    from rest_framework.exceptions import NotFound

    return NotFound(error.detail, code=error.code)


def _event_id(raw, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    raise ValidationError({name: ["An event id (a whole number) is required."]}, code="invalid")


# A topic the caller may not see is absent, as any hidden record is: 404, never 403 (API.md section 15).
TOPIC_NOT_VISIBLE = OpenApiResponse(
    ErrorResponse404Serializer,
    description="A topic that does not exist or is not visible to the caller (another user's, or a hospital's "
    "the caller may not see).",
)


class EventListView(APIView):
    """The feed as JSON pages, for clients that poll: the ready events after `after`, in id order."""

    permission_classes = [AllowAny]

    @extend_schema(
        tags=["events"],
        parameters=[
            TOPICS_PARAMETER,
            OpenApiParameter("after", int, description="The last event id you have (default 0: from the oldest kept)."),
            OpenApiParameter("limit", int, description="At most this many events (default 100, at most 500)."),
        ],
        responses={200: EventPageOut, 404: TOPIC_NOT_VISIBLE},
    )
    def get(self, request):
        user = request.user if request.user.is_authenticated else None
        try:
            names = topics.split(request.query_params.get("topics", ""))
            parsed = topics.authorize(user, names)
        except topics.TopicRefused as error:
            raise _refusal(error) from None
        after = _event_id(request.query_params.get("after"), "after") or 0
        limit = request.query_params.get("limit", "100")
        if not (limit.isascii() and limit.isdigit() and int(limit) > 0):
            raise ValidationError({"limit": ["A positive whole number is required."]}, code="invalid")
        stored = [topic.name for topic in parsed if not topic.kind.derived]
        reader.publish()  # whoever publishes first: this host, another or a stream server
        if after and after < reader.pruned_through():
            position = reader.position()
            reset = {"id": position, "at": None, "topic": ",".join(stored), "type": "reset", "data": {}}
            return Response({"results": [reset], "last_id": position, "has_more": False})
        events = reader.read(after, topics=stored, limit=min(int(limit), 500))
        last_id = events[-1]["id"] if events else after
        return Response({"results": events, "last_id": last_id, "has_more": len(events) == min(int(limit), 500)})


class TicketView(APIView):
    """A one-use ticket (60 s) for `EventSource`, which cannot send an Authorization header."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["events"], request=TicketIn, responses={201: TicketOut, 404: TOPIC_NOT_VISIBLE})
    def post(self, request):
        try:
            raw = request.data.get("topics") if isinstance(request.data, dict) else None
            names = topics.split(raw if isinstance(raw, list) else None)
            topics.authorize(request.user, names)
        except topics.TopicRefused as error:
            raise _refusal(error) from None
        token = request.auth
        principal = Principal(
            user=request.user,
            token_jti=str(token.get("jti", "")),
            token_expires_at=principal_from_token(str(token)).token_expires_at,
            auth_version=request.user.auth_version,
        )
        ticket, expires_at = ticket_issue(principal=principal, topics=names)
        return Response({"ticket": ticket, "expires_at": expires_at}, status=status.HTTP_201_CREATED)


# --- the SSE stream (served by the ASGI server) ---------------------------------------------------


def _stream_principal(request) -> tuple[Principal, list[str] | None]:
    """Blocking: who streams (Bearer token, ticket or nobody) and, for a ticket, the topics it covers."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, raw = header.partition(" ")
        if scheme != "Bearer" or not raw.strip():
            raise AuthenticationFailed("Use 'Authorization: Bearer <access token>'.", code="not_authenticated")
        return principal_from_token(raw.strip()), None
    if "ticket" in request.GET:
        return ticket_redeem(request.GET["ticket"])
    return Principal(), None


def _setup(request):
    """Blocking: (principal, topics, last_event_id, snapshot) for a stream request, or an error response."""
    try:
        principal, ticket_topics = _stream_principal(request)
        raw = request.GET.get("topics")
        names = topics.split(raw if raw is not None else (ticket_topics or ""))
        if ticket_topics is not None and not set(names) <= set(ticket_topics):
            return error_response(403, "ticket_topics", "The ticket does not cover these topics.")
        parsed = topics.authorize(principal.user, names)
        last = _event_id(request.META.get("HTTP_LAST_EVENT_ID") or request.GET.get("last_event_id"), "last_event_id")
        snapshot = request.GET.get("snapshot", "false")
        if snapshot not in ("true", "false", "1", "0"):
            raise ValidationError({"snapshot": ["Use true or false."]}, code="invalid")
    except topics.TopicRefused as error:
        return error_response(error.status, error.code, error.detail)
    except AuthenticationFailed as error:
        return error_response(401, getattr(error.detail, "code", None) or "not_authenticated", str(error.detail))
    except ValidationError as error:
        field, messages = next(iter(error.detail.items()))
        return error_response(400, "invalid", f"{field}: {messages[0]}")
    return principal, parsed, last, snapshot in ("true", "1")


async def stream(request):
    """`GET /api/v1/events/stream?topics=..` -> text/event-stream (section 15)."""
    if request.method != "GET":
        return error_response(405, "method_not_allowed", f'Method "{request.method}" not allowed.')
    if not isinstance(request, ASGIRequest):
        # Under WSGI a stream would hold a whole worker: the proxy sends this path to the ASGI server.
        return error_response(
            503, "stream_unavailable", "Streams are served by the ASGI server; poll /api/v1/events.", "server_error"
        )
    setup = await in_thread(_setup, request)
    if not isinstance(setup, tuple):
        return setup
    principal, parsed, last_event_id, snapshot = setup
    session = Session(principal)
    try:
        first = await session.add(parsed, last_event_id=last_event_id, snapshot=snapshot)
    except Exception:
        session.close()
        raise
    response = StreamingHttpResponse(content_type="text/event-stream")
    response.streaming_content = _events(session, first, sink_for(request.scope.get(SEND_KEY)), response)
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


async def _events(session: Session, first: list[dict], sink, response):
    heartbeat = settings.EVENTS_HEARTBEAT_SECONDS
    try:
        yield b"retry: 2000\n\n"
        for message in first:
            yield sse_frame(message)
        # Resumed: what came before is on the connection. The hub now writes live events to it
        # (unless something between the view and the server re-encodes the body).
        session.go_live(None if response.has_header("Content-Encoding") else sink)
        comment_due = monotonic() + heartbeat
        while True:
            until_comment = max(comment_due - monotonic(), 0)
            await session.wait(min(until_comment, settings.EVENTS_AUTH_RECHECK_SECONDS))
            if session.overflowed:
                return  # too far behind: the client reconnects with Last-Event-ID
            for message in await session.drain():
                yield sse_frame(message)
            if monotonic() >= comment_due:
                yield b": keep-alive\n\n"
                comment_due = monotonic() + heartbeat
            if not await session.still_valid():
                return
    except asyncio.CancelledError:
        raise
    finally:
        session.close()
