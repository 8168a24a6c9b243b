"""Data safety: nothing is hard-deleted through the API, clinical rows are protected by their foreign
keys (in Django and in PostgreSQL), the audit trail is append-only, and every uniqueness violation —
caught by a validator or only by the database constraint — is a 409 that leaks no SQL.

The backup/restore check (pg_dump -Fc -> pg_restore into a fresh database -> equal row counts) is
`make backup-check` (bin/backup-restore).
"""

import pytest
from django.apps import apps
from django.db import DatabaseError, IntegrityError, connection, models, transaction
from rest_framework.validators import UniqueValidator

from accounts.models import Activity, User
from appointments.models import Doctor, Slot
from bloodbank.models import BloodBank, StockLot
from emergency.models import Ambulance
from hms.tests.routes import api_routes
from hospitals.models import Bed, Floor, Hospital

pytestmark = pytest.mark.django_db

OUR_APPS = ("accounts", "hospitals", "appointments", "bloodbank", "emergency", "dashboard")
CLINICAL_MODELS = [
    "hospitals.Admission",
    "appointments.Appointment",
    "appointments.Visit",
    "appointments.Prescription",
    "bloodbank.BloodRequest",
    "bloodbank.Allocation",
    "bloodbank.Donation",
    "emergency.Emergency",
    "emergency.EmergencyEvent",
    "accounts.Activity",
]
# DELETE that keeps the row: the contract's deactivations, and the seed API's cancel.
DEACTIVATING = {"/api/v1/users/{id}/", "/api/v1/hospitals/{id}/", "/api/v1/blood-banks/{id}/", "/hospital/delete/{id}/"}
CANCELLING = {"/appointment/opd/cancel/{id}/"}
RELEASING = {"/api/v1/holds/{id}/"}  # a slot hold: DELETE releases it (status released, the row kept)


def _row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in OUR_APPS or model._meta.app_label == "token_blacklist"
    }


def _deletable_routes():
    return [route for route in api_routes() if "delete" in route.actions or route.parameters == ["id"]]


# --- no API route hard-deletes -------------------------------------------------------------------


# DELETE that ends something and keeps its row (part two): leaving the waitlist, deleting a leave
# that has not started (its slots reopen), deactivating a webhook.
ENDING = {"/api/v1/waitlist/{id}/", "/api/v1/doctors/{doctor_id}/leaves/{id}/", "/api/v1/webhooks/{id}/"}


def _target(world, route):
    """The row the route's `{id}` names: its view's model, or the object the path names."""
    if route.path.startswith("/api/v1/notifications/{id}"):
        return world.notification
    if route.path.startswith("/api/v1/doctors/{doctor_id}/leaves/{id}"):
        return world.leave
    if route.path == "/api/v1/hospitals/{id}/queue-board/":
        return world.hospital
    if route.path == "/api/v1/blood-banks/{id}/lots/":
        return world.bank
    queryset = getattr(route.view_class, "queryset", None)
    return queryset.model.objects.order_by("pk").first() if queryset is not None else None


@pytest.mark.parametrize("route", api_routes(), ids=lambda route: route.path)
def test_delete_on_any_route_is_405_or_keeps_the_row(world, admin_client, route):
    target = _target(world, route) if "id" in route.parameters else None
    model = type(target) if target is not None else None
    if "id" in route.parameters:
        assert target is not None, f"the world has no row for {route.path}"
    if model is User and target is not None:
        target = world.other_patient  # an admin cannot deactivate itself (409); any other account will do
    # Other path parameters: the doctor named, or an id no row has (the method is refused first).
    others = {"doctor_id": world.doctor.pk, "entry_id": 987654, "delivery_id": 987654}
    values = {name: others[name] for name in route.parameters if name != "id"}
    if target is not None:
        values["id"] = target.pk
    before = _row_counts()
    response = admin_client.delete(route.url(**values))
    after = _row_counts()
    assert {label: count for label, count in after.items() if count < before[label]} == {}, "rows were deleted"
    if route.path in DEACTIVATING:
        assert response.status_code == 204
        target.refresh_from_db()
        assert target.is_active is False
    elif route.path in CANCELLING:
        assert response.status_code == 200
        target.refresh_from_db()
        assert target.status == "cancelled"
    elif route.path in RELEASING:
        assert response.status_code == 204
        target.refresh_from_db()
        assert target.status == "released"
    elif route.path in ENDING:
        assert response.status_code == 204, (route.path, response.content)
    else:
        assert response.status_code == 405, (route.path, response.status_code)
        assert response.json()["errors"][0]["code"] == "method_not_allowed"
    if target is not None:
        assert model.objects.filter(pk=target.pk).exists()


def test_the_delete_matrix_covers_every_viewset():
    """Every router viewset of every app is reached by the test above."""
    viewsets = {route.view_class for route in api_routes() if route.pattern.callback.__dict__.get("actions")}
    assert len(viewsets) >= 17


@pytest.mark.parametrize("client_name", ["hospital_admin_client", "doctor_client", "patient_client", "api"])
def test_no_role_can_hard_delete_a_clinical_record(request, world, client_name):
    client = request.getfixturevalue(client_name)
    before = _row_counts()
    for path in (
        f"/api/v1/appointments/{world.appointment.pk}",
        f"/api/v1/visits/{world.visit.pk}",
        f"/api/v1/admissions/{world.admission.pk}",
        f"/api/v1/blood-requests/{world.blood_request.pk}",
        f"/api/v1/emergencies/{world.emergency.pk}",
        f"/api/v1/donations/{world.donation.pk}",
        f"/api/v1/beds/{world.bed.pk}",
        f"/api/v1/ambulances/{world.ambulance.pk}",
    ):
        assert client.delete(path).status_code in (401, 403, 404, 405), path
    after = _row_counts()
    assert all(after[label] >= count for label, count in before.items())


# --- foreign keys protect clinical rows ----------------------------------------------------------


@pytest.mark.parametrize("label", CLINICAL_MODELS)
def test_every_foreign_key_of_a_clinical_model_is_protect(label):
    model = apps.get_model(label)
    foreign_keys = [field for field in model._meta.get_fields() if field.many_to_one or field.one_to_one]
    foreign_keys = [field for field in foreign_keys if field.concrete]
    assert foreign_keys, label
    assert {field.name: field.remote_field.on_delete for field in foreign_keys} == {
        field.name: models.PROTECT for field in foreign_keys
    }


def test_every_foreign_key_in_our_apps_is_protect():
    loose = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        if model._meta.app_label in OUR_APPS
        for field in model._meta.get_fields()
        if (field.many_to_one or field.one_to_one)
        and field.concrete
        and field.remote_field.on_delete is not models.PROTECT
    ]
    assert loose == []


@pytest.mark.parametrize(
    "name", ["hospital", "patient", "other_patient", "bed", "slot", "bank", "doctor", "emergency", "visit"]
)
def test_deleting_a_referenced_row_is_refused_by_the_orm(world, name):
    from django.db.models import ProtectedError

    target = getattr(world, name)
    if name == "other_patient":
        world.blood_request.requester = target
        world.blood_request.save()
    with pytest.raises(ProtectedError), transaction.atomic():
        target.delete()
    assert type(target).objects.filter(pk=target.pk).exists()


@pytest.mark.parametrize(
    "table, pk_of",
    [
        ("hospitals_hospital", lambda w: w.hospital.pk),
        ("accounts_user", lambda w: w.patient.pk),
        ("appointments_slot", lambda w: w.slot.pk),
        ("hospitals_bed", lambda w: w.bed.pk),
        ("bloodbank_stocklot", lambda w: w.lot.pk),
    ],
)
def test_the_database_itself_refuses_to_orphan_clinical_rows(world, table, pk_of):
    """Raw SQL bypasses Django's PROTECT; the PostgreSQL foreign keys still refuse."""
    if table == "bloodbank_stocklot":
        from bloodbank.models import Allocation

        Allocation.objects.create(request=world.blood_request, lot=world.lot, units=1)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f'DELETE FROM "{table}" WHERE id = %s', [pk_of(world)])


def test_the_audit_trail_is_append_only_in_the_database(world):
    entry = Activity.objects.create(action="login", actor=world.patient)
    for sql in (
        'UPDATE "accounts_activity" SET action = %s WHERE id = %s',
        'DELETE FROM "accounts_activity" WHERE id = %s',
    ):
        params = ["logout", entry.pk] if sql.startswith("UPDATE") else [entry.pk]
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    assert Activity.objects.get(pk=entry.pk).action == "login"


# --- every uniqueness violation is a 409 ---------------------------------------------------------

LEAKS = ("duplicate key", "violates", "Key (", "constraint", "IntegrityError", "unique_", "_unique", "DETAIL")


@pytest.fixture(params=["validators", "database-only"])
def prechecks(request, monkeypatch):
    """`database-only` switches the friendly pre-checks off, so the database constraint has to catch it
    (what happens when two requests race past the check)."""
    if request.param == "database-only":
        from django.db.models import QuerySet

        import accounts.serializers

        monkeypatch.setattr(UniqueValidator, "__call__", lambda self, value, field: None)
        monkeypatch.setattr(accounts.serializers, "_unique_ci", lambda field, value, exclude_pk=None: value)
        monkeypatch.setattr(QuerySet, "exists", lambda self: False)
    return request.param


def _assert_409(response, code="unique"):
    """A duplicate is refused with its code whether the service's pre-check or the constraint caught it."""
    assert response.status_code == 409, (response.status_code, response.content[:300])
    body = response.json()
    assert body["type"] == "client_error" and body["errors"][0]["code"] == code
    text = response.content.decode()
    for leak in LEAKS:
        assert leak not in text, leak


def _twice(client, path, body, model):
    first = client.post(path, body, format="json")
    assert first.status_code == 201, first.content
    count = model.objects.count()
    return client.post(path, body, format="json"), count


def test_accounts_duplicate_username_or_email_is_409(api, prechecks):
    body = {"username": "Asha", "fullname": "Asha", "email": "asha@x.org", "password": "Str0ng-Pass-99"}
    response, count = _twice(api, "/auth/register", body, User)
    _assert_409(response)
    _assert_409(api.post("/auth/register", {**body, "username": "ASHA", "email": "other@x.org"}))
    _assert_409(api.post("/auth/register", {**body, "username": "asha2", "email": "ASHA@x.org"}))
    assert User.objects.count() == count


def test_hospitals_duplicate_registration_floor_and_bed_numbers_are_409(world, admin_client, prechecks):
    response, count = _twice(admin_client, "/api/v1/hospitals", {"name": "H", "registration_number": "DUP-1"}, Hospital)
    _assert_409(response)
    assert Hospital.objects.count() == count
    floor = {"hospital_id": world.hospital.pk, "floor_number": "F-DUP"}
    response, count = _twice(admin_client, "/api/v1/floors", floor, Floor)
    _assert_409(response)
    assert Floor.objects.count() == count
    response, count = _twice(admin_client, "/api/v1/beds", {"ward_id": world.ward.pk, "bed_number": "B-DUP"}, Bed)
    _assert_409(response)
    assert Bed.objects.count() == count


def test_appointments_duplicate_license_and_slot_start_are_409(world, admin_client, prechecks):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.tests.factories import UserFactory

    doctor = {"hospital_id": world.hospital.pk, "specialization": "ENT", "license_number": "LIC-DUP"}
    first = admin_client.post("/api/v1/doctors", {**doctor, "user_id": UserFactory().pk}, format="json")
    assert first.status_code == 201, first.content
    count = Doctor.objects.count()
    _assert_409(admin_client.post("/api/v1/doctors", {**doctor, "user_id": UserFactory().pk}, format="json"))
    assert Doctor.objects.count() == count
    start = (timezone.now() + timedelta(days=5)).replace(microsecond=0)
    slot = {
        "doctor_id": world.doctor.pk,
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=15)).isoformat(),
    }
    response, count = _twice(admin_client, "/api/v1/slots", slot, Slot)
    _assert_409(response, code="duplicate_slot")
    assert Slot.objects.count() == count


def test_bloodbank_duplicate_license_and_lot_number_are_409(world, admin_client, prechecks):
    response, count = _twice(admin_client, "/api/v1/blood-banks", {"name": "B", "license_number": "BB-DUP"}, BloodBank)
    _assert_409(response)
    assert BloodBank.objects.count() == count
    lot = {"blood_group": "O-", "units": 2, "lot_number": "LOT-DUP"}
    response, count = _twice(admin_client, f"/api/v1/blood-banks/{world.bank.pk}/stock", lot, StockLot)
    _assert_409(response)
    assert StockLot.objects.count() == count


def test_emergency_duplicate_vehicle_number_in_any_case_is_409(world, admin_client, prechecks):
    body = {"hospital_id": world.hospital.pk, "vehicle_number": "MH-DUP-1"}
    response, count = _twice(admin_client, "/api/v1/ambulances", body, Ambulance)
    _assert_409(response)
    _assert_409(admin_client.post("/api/v1/ambulances", {**body, "vehicle_number": "mh-dup-1"}, format="json"))
    assert Ambulance.objects.count() == count
