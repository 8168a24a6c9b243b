import math

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (default 20, at most 100); a page_size that is not a number is a 400."""

    page_size = 20
    page_size_query_param = "page_size"
    page_size_query_description = "Results per page (default 20); a larger value returns 100."
    max_page_size = 100

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (raw.isascii() and raw.isdigit() and int(raw) > 0):
            raise ValidationError({"page_size": ["A positive whole number is required."]}, code="invalid")
        return super().get_page_size(request)

    def get_schema_operation_parameters(self, view):
        # Pages count from 1 (page 0 is a 404) and page_size 0 is a 400: the schema says so.
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters

    # --- a page kept on the read cache (hms.api.readcache) ---------------------------------------

    def page_entry(self, queryset, request, view, serializer_class, *, count: int) -> dict:
        """One page as the read cache keeps it: the count (known already), the page number, the rows."""
        base = self.django_paginator_class
        self.django_paginator_class = type("CountedPaginator", (base,), {"count": count})
        try:
            rows = self.paginate_queryset(queryset, request, view=view)
        finally:
            self.django_paginator_class = base
        return {
            "count": self.page.paginator.count,
            "number": self.page.number,
            "results": serializer_class(rows, many=True, context=view.get_serializer_context()).data,
        }

    def response_from_entry(self, entry: dict, request) -> Response:
        """The same body `get_paginated_response` gives, from a kept entry (the links are the caller's)."""
        self.request = request
        page_size = self.get_page_size(request)
        number, count = entry["number"], entry["count"]
        pages = max(math.ceil(count / page_size), 1)
        url = request.build_absolute_uri()
        next_link = replace_query_param(url, self.page_query_param, number + 1) if number < pages else None
        if number <= 1:
            previous_link = None
        elif number == 2:
            previous_link = remove_query_param(url, self.page_query_param)
        else:
            previous_link = replace_query_param(url, self.page_query_param, number - 1)
        return Response({"count": count, "next": next_link, "previous": previous_link, "results": entry["results"]})
