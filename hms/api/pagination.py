import math

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (default 20, at most 100). Each is given at most once, as a positive
    whole number: an empty, repeated or non-numeric value is a 400 like any bad filter value (DRF
    would read an empty or repeated `page` as some page and answer 200). A page past the end is a 404."""

    page_size = 20
    page_size_query_param = "page_size"
    page_size_query_description = "Results per page (default 20); a larger value returns 100."
    max_page_size = 100
    last_page_strings = ()  # the schema says `page` is an integer: `page=last` is a 400 too

    def _whole_number(self, request, name: str) -> int | None:
        values = request.query_params.getlist(name)
        if not values:
            return None
        if len(values) > 1:
            raise ValidationError({name: [f"Give `{name}` only once."]}, code="invalid")
        raw = values[0]
        if not (raw.isascii() and raw.isdigit()):
            raise ValidationError({name: ["A positive whole number is required."]}, code="invalid")
        # Past any real page or size (and int() refuses strings of over 4300 digits).
        return int(raw) if len(raw.lstrip("0")) <= 18 else 10**18

    def get_page_size(self, request):
        size = self._whole_number(request, self.page_size_query_param)
        if size == 0:
            raise ValidationError(
                {self.page_size_query_param: ["A positive whole number is required."]}, code="invalid"
            )
        return self.page_size if size is None else min(size, self.max_page_size)

    def check_query(self, request) -> None:
        """Refuse a malformed `page` or `page_size` where nothing is paged (a CSV export streams every row)."""
        self.get_page_size(request)
        self._whole_number(request, self.page_query_param)

    def get_page_number(self, request, paginator):
        # Page 0 passes here and is a 404 from the paginator, like any page past the end.
        number = self._whole_number(request, self.page_query_param)
        return 1 if number is None else number

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
