"""The audit trail helper every app calls, and the viewset hooks that use it."""

from django.http import Http404
from django.utils import timezone
from rest_framework.response import Response

from accounts.models import Activity, User
from hms.api import exports
from hms.api.client import client_ip_var
from hms.api.logging import request_id_var
from hms.api.readcache import writes_committed

Action = Activity.Action


# Audited events that change no figure a cached read serves (hms.api.readcache).
UNCHANGING_ACTIONS = frozenset({"read", "read_denied", "login", "login_failed", "logout", "password_change", "export"})


def record(
    *,
    action: str,
    actor: User | None,
    object_type: str = "",
    object_id=None,
    patient_id: int | None = None,
    detail: dict | None = None,
) -> Activity:
    """Append one audit entry. Called inside the writing transaction, so a rolled-back write leaves none.

    `actor` is who acts (None, or an anonymous user: nobody signed in). The client address and request
    id come from the request being served (hms.api.middleware); a command or a job records them empty.
    """
    if object_id is not None and not (str(object_id).isdigit() and len(str(object_id)) <= 18):
        # Ids are integers; a probe with a malformed id is kept as text in the detail.
        # PostgreSQL text and jsonb cannot hold NUL, so a probed id carrying one is marked instead.
        detail = {**(detail or {}), "object_ref": str(object_id).replace("\x00", "\ufffd")[:64]}
        object_id = None
    if action not in UNCHANGING_ACTIONS:
        # An audited change of a user (e.g. a deactivation by UPDATE, which sends no post_save) also
        # invalidates the token users kept on the read cache.
        writes_committed(users=object_type == "user", topics=())
    return Activity.objects.create(
        **entry_fields(actor=actor),
        action=action,
        object_type=object_type,
        object_id=object_id,
        patient_id=patient_id,
        detail=detail or {},
    )


def record_row(
    action: str,
    row,
    *,
    by: User | None,
    object_type: str,
    patient_field: str = "patient_id",
    detail: dict | None = None,
) -> Activity:
    """The audit entry of a change to `row` that concerns a patient: the row's id, and as the patient the
    row's `patient_field` (`patient_id`, or e.g. a blood request's `requester_id`)."""
    return record(
        action=action,
        actor=by,
        object_type=object_type,
        object_id=row.pk,
        patient_id=getattr(row, patient_field),
        detail=detail,
    )


def entry_fields(*, actor: User | None) -> dict:
    """Who and from where, as an audit entry records them (for a write that inserts its entry in SQL)."""
    if actor is not None and not actor.is_authenticated:
        actor = None
    return {
        "actor": actor,
        "actor_role": actor.role if actor else "",
        "actor_name": (actor.fullname or actor.username) if actor else "",
        "ip": client_ip_var.get(),
        "request_id": request_id_var.get(),
    }


def audited_create(model, *, by: User, data: dict, object_type: str):
    """Insert the row of a plain create and record it (inside the service's transaction)."""
    instance = model.objects.create(**data)
    record(action=Action.CREATE, actor=by, object_type=object_type, object_id=instance.pk)
    return instance


def audited_update(instance, *, by: User, data: dict, object_type: str):
    """Write the validated fields of a plain edit and record it (inside the service's transaction)."""
    for field, value in data.items():
        setattr(instance, field, value)
    instance.save()
    record(action=Action.UPDATE, actor=by, object_type=object_type, object_id=instance.pk)
    return instance


def audited_deactivate(instance, *, by: User, object_type: str, topics) -> None:
    """DELETE of a row that keeps its data: `is_active` off, the read cache's `topics` replaced (an
    UPDATE sends no post_save), a `delete` audit entry."""
    type(instance).objects.filter(pk=instance.pk).update(is_active=False, updated_at=timezone.now())
    writes_committed(topics=topics)
    record(action=Action.DELETE, actor=by, object_type=object_type, object_id=instance.pk)


class ClinicalReadAuditMixin:
    """Detail GETs of a patient's clinical record are logged as `read`, hidden ones as `read_denied`."""

    audit_object_type = ""
    audit_patient_field = "patient_id"

    def retrieve(self, request, *args, **kwargs):
        object_type = self.audit_object_type or self.queryset.model._meta.model_name
        lookup = kwargs.get(self.lookup_url_kwarg or self.lookup_field)
        try:
            instance = self.get_object()
        except Http404:
            patient_id = None
            if str(lookup).isdigit() and len(str(lookup)) <= 18:
                # Name the patient whose record was probed, so `my-records` shows the attempt.
                patient_id = (
                    self.queryset.model.objects.filter(pk=int(lookup))
                    .values_list(self.audit_patient_field, flat=True)
                    .first()
                )
            record(
                action=Action.READ_DENIED,
                actor=request.user,
                object_type=object_type,
                object_id=str(lookup)[:64],
                patient_id=patient_id,
            )
            raise
        record(
            action=Action.READ,
            actor=request.user,
            object_type=object_type,
            object_id=instance.pk,
            patient_id=getattr(instance, self.audit_patient_field),
        )
        return Response(self.get_serializer(instance).data)


class ExportMixin(exports.ExportMixin):
    """CSV export of a list (hms.api.exports), recorded as one `export` entry before the first row:
    the list's name and the filters given (the row count is not known until the stream ends)."""

    def export_started(self, request, detail: dict) -> None:
        record(action=Action.EXPORT, actor=request.user, object_type=self.export_name, detail=detail)
