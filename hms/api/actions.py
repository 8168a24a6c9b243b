"""A state-change action declared once: `step_action(name, service, data_class, summary=..., responses=...)`
is the detail POST action that runs `StepMixin.step(service, data_class)` (row, input, service with `by=`,
`_out`), documented with `extend_schema` where the input is the request body (none: no body).

    accept = step_action("accept", services.referral_accept, serializers.AcceptIn, responses=STEP_RESPONSES)

The name is the attribute's (DRF checks that they match); it is the route's path and name unless
`url_path` names another (then both are `url_path`, e.g. `dispatch`, which is a view method's name)."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.status import HTTP_200_OK


def step_action(name, service, data_class=None, *, url_path=None, **documentation):
    """The action `name` of a `StepMixin` viewset; `documentation` goes to `extend_schema` (summary,
    description, responses)."""

    def run_step(self, request, pk=None):
        return self.step(service, data_class)

    run_step.__name__ = run_step.__qualname__ = name
    route = {"url_path": url_path, "url_name": url_path} if url_path else {}
    routed = action(detail=True, methods=["post"], **route)(run_step)
    return extend_schema(request=data_class, **documentation)(routed)


class ReadBackMixin:
    """`_out(row, code)` for steps and creates: the row read again from `read_back_rows()` (unscoped, with the
    answer's joins and prefetches: after a step the caller may no longer see the row) and answered with
    `serializer_class`."""

    def read_back_rows(self):
        return self.queryset.all()

    def _out(self, row, code=HTTP_200_OK):
        return Response(self.serializer_class(self.read_back_rows().get(pk=row.pk)).data, status=code)
