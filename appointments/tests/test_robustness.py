"""No input yields a 5xx: odd bodies, odd query values and odd ids on every OPD endpoint."""

import pytest

from appointments.tests.factories import AppointmentFactory, OpdScheduleFactory

pytestmark = pytest.mark.django_db

BODIES = [
    "[]", "null", "1", '"x"', "{}", '{"slot_id": null}', '{"slot_id": true}', '{"slot_id": 1.5}',
    '{"slot_id": 99999999999999999999999}', '{"user": "x"}', '{"user": {"email": []}}', '{"user_id": {}}',
    '{"prescriptions": "abc"}', '{"prescriptions": [null]}', '{"weekdays": [true]}', '{"weekdays": "0,1"}',
    '{"capacity": 1e400}', '{"start": "2030-01-01T25:00"}', '{"to_date": "2030-02-30"}',
    '{"from_date": "9999-12-31", "to_date": "9999-12-31"}', '{"consultation_fee": "NaN"}',
    '{"consultation_fee": 1e20}', '{"patient_id": -1, "slot_id": 1}', '{"reason": {"a": 1}, "slot_id": 1}',
    '{"hospital_id": "1"}', '{"start_time": "9", "end_time": null}', '{"visited_at": "0001-01-01T00:00:00+14:00"}',
]  # fmt: skip
QUERIES = [
    "from=2026-01-01T10:00:00%2B99:00", "to=0001-01-01", "date=9999-12-31", "from=9999-12-31T23:59:59%2B14:00",
    "page=abc", "page=99999", "page_size=-1", "ordering=-nonsense", "available=maybe", "available=",
    "search=%00", "specialization=" + "x" * 500, "hospital_id=99999999999999999999", "status=",
]  # fmt: skip


@pytest.fixture
def objects(slot, doctor, patient):
    return AppointmentFactory(slot=slot, patient=patient), OpdScheduleFactory(doctor=doctor)


@pytest.mark.parametrize("client_name", ["admin_client", "hospital_admin_client", "doctor_client", "patient_client"])
def test_odd_input_never_yields_a_server_error(request, client_name, objects, slot, doctor):
    appointment, schedule = objects
    client = request.getfixturevalue(client_name)
    client.raise_request_exception = False
    collections = ["/api/v1/appointments", "/api/v1/doctors", "/api/v1/slots", "/api/v1/opd-schedules",
                   "/api/v1/visits", "/appointment/opd/book"]  # fmt: skip
    actions = [f"/api/v1/opd-schedules/{schedule.pk}/generate-slots", f"/api/v1/appointments/{appointment.pk}/cancel"]
    details = [f"/api/v1/appointments/{appointment.pk}", f"/api/v1/slots/{slot.pk}",
               f"/api/v1/opd-schedules/{schedule.pk}", f"/api/v1/doctors/{doctor.pk}"]  # fmt: skip
    for path in collections + actions:
        for body in BODIES:
            response = client.post(path, body, content_type="application/json")
            assert response.status_code < 500, (path, body, response.status_code)
    for path in collections + ["/appointment/my-appointments", "/appointment/available-slots"]:
        for query in QUERIES:
            response = client.get(f"{path}?{query}")
            assert response.status_code < 500, (path, query, response.status_code)
    for path in details:
        for body in BODIES:
            response = client.patch(path, body, content_type="application/json")
            assert response.status_code < 500, (path, body, response.status_code)
    for path in ("/api/v1/appointments/99999999999999999999999", "/api/v1/visits/abc", "/appointment/opd/0"):
        assert client.get(path).status_code == 404


def test_not_json_is_415(patient_client, slot):
    response = patient_client.post(
        "/api/v1/appointments", "slot_id=1", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
