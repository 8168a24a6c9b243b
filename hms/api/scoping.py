"""The one visibility mixin: a viewset declares what its rows hang off, the mixin narrows the queryset.

Rows the caller may not see are simply absent, so DRF's `get_object` answers 404 for them.
"""

from django.db.models import Q

from hms.api.permissions import role_of
from hms.api.roles import Role


def sees_deactivated(user) -> bool:
    """Deactivated rows (hospitals, blood banks, accounts, and what hangs off them): administrators only."""
    return role_of(user) == Role.ADMIN


def visibility_scope(user) -> str:
    """Which rows of deactivated hospitals and banks the caller sees: "all" (admins) or "active".

    A cache key part (hms.api.readcache): callers who see the same rows share kept answers.
    """
    return "all" if sees_deactivated(user) else "active"


class ScopedQuerysetMixin:
    """Scope `get_queryset()` by role, and hide deactivated rows from everyone but administrators.

    - `active_lookups`: boolean lookups a row needs to be true to be seen by anyone but an administrator
      (e.g. `("hospital__is_active",)`): deactivated rows are kept for admins, who may reactivate them.
    - `public_read`: every caller, anonymous included, sees every (active) row; the permission classes
      decide who writes. The role lookups below are then not used.
    - `owner_lookups`: lookups compared with the caller's id, for every role (the patient, the requester).
    - `hospital_lookups`: role -> lookup (or tuple of lookups, any of which may match) compared with the
      caller's `hospital_id` (a referral: its origin or its destination).
    - `user_lookups`: role -> lookup compared with the caller's id (e.g. the treating doctor).
    Admin sees everything; anyone else sees the union of the lookups that apply to them.
    """

    active_lookups: tuple[str, ...] = ()
    public_read: bool = False
    owner_lookups: tuple[str, ...] = ()
    hospital_lookups: dict[str, str | tuple[str, ...]] = {}
    user_lookups: dict[str, str] = {}

    def get_queryset(self):
        return self.scope_queryset(super().get_queryset())

    def visibility_key(self) -> tuple:
        """What `scope_queryset` reads of the caller, besides the class's declarations: callers with the
        same key see the same rows (hms.api.scoped_lookup keeps compiled lookups under it)."""
        user = self.request.user
        if self.public_read:
            return (visibility_scope(user),)
        role = role_of(user)
        # The caller's id matters only to the lookups compared with it: other callers of the same role
        # and hospital see the same rows.
        by_id = bool(self.owner_lookups) or role in self.user_lookups
        return (role, user.pk if by_id else None, getattr(user, "hospital_id", None))

    def scope_queryset(self, queryset):
        user = self.request.user
        role = role_of(user)
        if self.active_lookups and not sees_deactivated(user):
            queryset = queryset.filter(**dict.fromkeys(self.active_lookups, True))
        if role == Role.ADMIN or self.public_read:
            return queryset
        if role is None:
            return queryset.none()
        condition = Q(pk__in=[])
        for lookup in self.owner_lookups:
            condition |= Q(**{lookup: user.pk})
        if role in self.hospital_lookups and user.hospital_id is not None:
            lookups = self.hospital_lookups[role]
            for lookup in (lookups,) if isinstance(lookups, str) else lookups:
                condition |= Q(**{lookup: user.hospital_id})
        if role in self.user_lookups:
            condition |= Q(**{self.user_lookups[role]: user.pk})
        return queryset.filter(condition)
