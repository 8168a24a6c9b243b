from rest_framework import pagination
from rest_framework.exceptions import ValidationError


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
