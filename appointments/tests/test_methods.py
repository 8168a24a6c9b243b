"""Nothing in OPD is hard-deleted: DELETE is 405 for every caller, whatever its role."""

import pytest

from appointments.tests.factories import AppointmentFactory, OpdScheduleFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "client_name", ["api", "admin_client", "hospital_admin_client", "doctor_client", "patient_client", "driver_client"]
)
def test_delete_is_405_everywhere(request, client_name, slot, doctor, patient):
    client = request.getfixturevalue(client_name)
    appointment = AppointmentFactory(slot=slot, patient=patient)
    schedule = OpdScheduleFactory(doctor=doctor)
    for path in (
        f"/api/v1/doctors/{doctor.pk}",
        f"/api/v1/opd-schedules/{schedule.pk}",
        f"/api/v1/slots/{slot.pk}",
        f"/api/v1/appointments/{appointment.pk}",
        "/api/v1/visits/1",
    ):
        response = client.delete(path)
        assert response.status_code == 405, (path, response.status_code)
        assert response.json()["errors"][0]["code"] == "method_not_allowed"
