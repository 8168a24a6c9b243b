"""The one visibility mixin: a viewset declares what its rows hang off, the mixin narrows the queryset.

Rows the caller may not see are simply absent, so DRF's `get_object` answers 404 for them.
"""

from django.db.models import Q

from hms.api.permissions import ADMIN, role_of


class ScopedQuerysetMixin:
    """Scope `get_queryset()` by role.

    - `owner_lookups`: lookups compared with the caller's id, for every role (the patient, the requester).
    - `hospital_lookups`: role -> lookup compared with the caller's `hospital_id`.
    - `user_lookups`: role -> lookup compared with the caller's id (e.g. the treating doctor).
    - `public_read`: anonymous and every role see all rows on safe methods.
    Admin sees everything; anyone else sees the union of the lookups that apply to them.
    """

    owner_lookups: tuple[str, ...] = ()
    hospital_lookups: dict[str, str] = {}
    user_lookups: dict[str, str] = {}

    def get_queryset(self):
        return self.scope_queryset(super().get_queryset())

    def scope_queryset(self, queryset):
        user = self.request.user
        role = role_of(user)
        if role is None:
            return queryset.none()
        if role == ADMIN:
            return queryset
        condition = Q(pk__in=[])
        for lookup in self.owner_lookups:
            condition |= Q(**{lookup: user.pk})
        if role in self.hospital_lookups and user.hospital_id is not None:
            condition |= Q(**{self.hospital_lookups[role]: user.hospital_id})
        if role in self.user_lookups:
            condition |= Q(**{self.user_lookups[role]: user.pk})
        return queryset.filter(condition)
