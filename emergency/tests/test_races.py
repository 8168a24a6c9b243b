"""Concurrent dispatches on real PostgreSQL transactions: an ambulance never serves two open emergencies."""

import pytest

from accounts.tests.factories import HospitalFactory, UserFactory
from conftest import client_for, run_together
from emergency.models import Ambulance, Emergency
from emergency.tests.factories import AmbulanceFactory, EmergencyFactory

URL = "/api/v1/emergencies"


@pytest.fixture
def setup(db):
    hospital = HospitalFactory()
    admins = [UserFactory(role="hospital_admin", hospital=hospital) for _ in range(2)]
    return hospital, [client_for(admin) for admin in admins]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("named", [False, True], ids=["nearest", "named"])
def test_two_emergencies_dispatched_at_once_with_one_ambulance_one_wins(setup, named):
    hospital, (first, second) = setup
    ambulance = AmbulanceFactory(hospital=hospital)
    emergencies = [EmergencyFactory(hospital=hospital) for _ in range(2)]
    body = {"ambulance_id": ambulance.pk} if named else {}
    responses = run_together(
        [
            lambda: first.post(f"{URL}/{emergencies[0].pk}/dispatch", body),
            lambda: second.post(f"{URL}/{emergencies[1].pk}/dispatch", body),
        ]
    )
    assert sorted(response.status_code for response in responses) == [200, 409]
    assert Emergency.objects.filter(ambulance=ambulance, status="dispatched").count() == 1
    assert Emergency.objects.filter(status="reported", ambulance__isnull=True).count() == 1
    assert Ambulance.objects.get(pk=ambulance.pk).status == "dispatched"


@pytest.mark.django_db(transaction=True)
def test_one_emergency_dispatched_twice_at_once_takes_one_ambulance(setup):
    hospital, (first, second) = setup
    ambulances = [AmbulanceFactory(hospital=hospital) for _ in range(2)]
    emergency = EmergencyFactory(hospital=hospital)
    responses = run_together(
        [
            lambda: first.post(f"{URL}/{emergency.pk}/dispatch"),
            lambda: second.post(f"{URL}/{emergency.pk}/dispatch"),
        ]
    )
    assert sorted(response.status_code for response in responses) == [200, 409]
    statuses = sorted(Ambulance.objects.filter(pk__in=[a.pk for a in ambulances]).values_list("status", flat=True))
    assert statuses == ["available", "dispatched"]
    assert emergency.events.filter(status="dispatched").count() == 1


@pytest.mark.django_db(transaction=True)
def test_many_dispatches_never_share_an_ambulance(setup):
    hospital, clients = setup
    ambulances = [AmbulanceFactory(hospital=hospital) for _ in range(3)]
    emergencies = [EmergencyFactory(hospital=hospital) for _ in range(6)]
    calls = [
        (lambda client=clients[index % 2], pk=emergency.pk: client.post(f"{URL}/{pk}/dispatch"))
        for index, emergency in enumerate(emergencies)
    ]
    responses = run_together(calls)
    assert sorted(response.status_code for response in responses) == [200] * 3 + [409] * 3
    taken = list(Emergency.objects.filter(status="dispatched").values_list("ambulance_id", flat=True))
    assert sorted(taken) == sorted(a.pk for a in ambulances)
    assert set(Ambulance.objects.values_list("status", flat=True)) == {"dispatched"}


@pytest.mark.django_db(transaction=True)
def test_resolve_racing_a_dispatch_of_the_same_ambulance_stays_consistent(setup):
    hospital, (first, second) = setup
    ambulance = AmbulanceFactory(hospital=hospital, status="busy")
    finishing = EmergencyFactory(hospital=hospital, ambulance=ambulance, status="at_hospital")
    waiting = EmergencyFactory(hospital=hospital)
    resolve, dispatch = run_together(
        [
            lambda: first.post(f"{URL}/{finishing.pk}/status", {"status": "resolved"}),
            lambda: second.post(f"{URL}/{waiting.pk}/dispatch", {"ambulance_id": ambulance.pk}),
        ]
    )
    assert resolve.status_code == 200
    assert dispatch.status_code in (200, 409)
    ambulance.refresh_from_db()
    waiting.refresh_from_db()
    if dispatch.status_code == 200:
        assert waiting.status == "dispatched" and ambulance.status == "dispatched"
    else:
        assert waiting.status == "reported" and ambulance.status == "available"
    assert Emergency.objects.filter(ambulance=ambulance, status__in=Emergency.OPEN_STATUSES).count() <= 1


@pytest.mark.django_db(transaction=True)
def test_set_available_racing_a_dispatch_never_frees_a_dispatched_ambulance(setup):
    hospital, (first, second) = setup
    admin_of_hospital = first
    ambulance = AmbulanceFactory(hospital=hospital)
    emergency = EmergencyFactory(hospital=hospital)
    dispatch, set_status = run_together(
        [
            lambda: second.post(f"{URL}/{emergency.pk}/dispatch", {"ambulance_id": ambulance.pk}),
            lambda: admin_of_hospital.post(f"/api/v1/ambulances/{ambulance.pk}/status", {"status": "out_of_service"}),
        ]
    )
    ambulance.refresh_from_db()
    emergency.refresh_from_db()
    if dispatch.status_code == 200:
        # The dispatch went first: the status change must have been refused.
        assert set_status.status_code == 409 and ambulance.status == "dispatched"
        assert emergency.ambulance_id == ambulance.pk
    else:
        assert dispatch.status_code == 409 and set_status.status_code == 200
        assert ambulance.status == "out_of_service" and emergency.status == "reported"
