"""Actions declared once, for viewsets whose rows change only through services and are answered read back:

- `step_action(name, service, data_class, check=..., summary=..., responses=...)`: the detail POST that runs
  `StepMixin.step(service, data_class, check)` (row, who may act, input, service with `by=`, `_out`), documented with
  `extend_schema` where the input is the request body (none: no body);
- `create_action(route, data_class, ...)`: the idempotent create (input, the viewset's `create_row`, `_out`, 201);
- `ReadBackMixin._out`: the row read again from the class's `queryset` and answered.

    accept = step_action("accept", services.referral_accept, serializers.AcceptIn, responses=STEP_RESPONSES)

A step's name is the attribute's (DRF checks that they match) and the route's path and name, unless
`url_path` names another: then both are `url_path` (the `dispatch` steps, since `dispatch` is a view's own
method)."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.status import HTTP_200_OK, HTTP_201_CREATED

from hms.api.idempotency import idempotent


def step_action(name, service, data_class=None, *, url_path=None, check=None, **documentation):
    """The action `name` of a `StepMixin` viewset; `check` is the service's rule of who may take the step
    (run on the row before the body is validated: 403 before 400); `documentation` goes to `extend_schema`
    (summary, description, responses)."""

    def run_step(self, request, pk=None):
        return self.step(service, data_class, check)

    run_step.__name__ = run_step.__qualname__ = name
    route = {"url_path": url_path, "url_name": url_path} if url_path else {}
    routed = action(detail=True, methods=["post"], **route)(run_step)
    return extend_schema(request=data_class, **documentation)(routed)


def create_action(route, data_class, **documentation):
    """The idempotent POST of a `ReadBackMixin` viewset that creates a row: `data_class` validates the body
    (400), the viewset's `create_row(values)` calls the service, `_out` answers the row read back (201).
    `route` names the Idempotency-Key's route; `documentation` goes to `extend_schema` with `data_class`
    as the request body."""

    def create(self, request, *args, **kwargs):
        data = data_class(data=request.data)
        data.is_valid(raise_exception=True)
        return self._out(self.create_row(data.validated_data), HTTP_201_CREATED)

    return idempotent(route, request=data_class, **documentation)(create)


class ReadBackMixin:
    """`_out(row, code)` for steps and creates: the row read again from the class's `queryset` (unscoped:
    after a step the caller may no longer see the row; with the answer's joins and prefetches) and answered
    with `serializer_class`."""

    def _out(self, row, code=HTTP_200_OK):
        return Response(self.serializer_class(self.queryset.get(pk=row.pk)).data, status=code)
