"""The lobby display page (API.md section 17), server side: what it shows, what it never shows."""

import pytest
from django.test import Client

from appointments.queue_models import WALK_IN_TOKEN_START, OpdQueue, QueueEntry
from appointments.queue_selectors import local_today
from appointments.tests.factories import DoctorFactory
from hospitals.models import Bed, Ward

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(hospital):
    doctor = DoctorFactory(hospital=hospital)
    queue = OpdQueue.objects.create(doctor=doctor, hospital=hospital, date=local_today(hospital.timezone), room="R-7")
    QueueEntry.objects.create(
        queue=queue, token=WALK_IN_TOKEN_START, name="Secret Walker", status="called", called_at="2026-01-01T00:00Z"
    )
    QueueEntry.objects.create(queue=queue, token=WALK_IN_TOKEN_START + 1, name="Hidden Person")
    return doctor


def test_page_shows_now_serving_room_waiting_and_free_beds_without_names(board, hospital):
    ward = Ward.objects.create(hospital=hospital, name="ICU A", ward_type="icu")
    Bed.objects.create(hospital=hospital, ward=ward, bed_number="1")
    Bed.objects.create(hospital=hospital, ward=ward, bed_number="2", status="occupied")
    response = Client().get(f"/display/hospitals/{hospital.pk}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert hospital.name in page and board.user.fullname in page and "R-7" in page
    assert f">{WALK_IN_TOKEN_START}<" in page
    assert '<td class="waiting">1</td>' in page
    assert 'data-ward-type="icu"' in page and '<span class="free">1</span>' in page
    assert "Secret Walker" not in page and "Hidden Person" not in page
    assert f"hospital.{hospital.pk}.queue,hospital.{hospital.pk}.beds" in page
    assert "display/lobby.js" in page


def test_page_needs_no_login_and_with_slash_too(hospital):
    assert Client().get(f"/display/hospitals/{hospital.pk}/").status_code == 200


def test_unknown_or_inactive_hospital_is_a_404_page(hospital):
    response = Client().get("/display/hospitals/999999")
    assert response.status_code == 404 and b"No such hospital" in response.content
    hospital.is_active = False
    hospital.save()
    assert Client().get(f"/display/hospitals/{hospital.pk}").status_code == 404
    assert Client().get("/display/hospitals/abc").status_code == 404


def test_page_queries_are_bounded(hospital, django_assert_max_num_queries):
    for _ in range(6):
        doctor = DoctorFactory(hospital=hospital)
        OpdQueue.objects.create(doctor=doctor, hospital=hospital, date=local_today(hospital.timezone))
    with django_assert_max_num_queries(6):
        assert Client().get(f"/display/hospitals/{hospital.pk}").status_code == 200


def test_the_script_is_served_as_a_static_file():
    response = Client().get("/static/display/lobby.js")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"EventSource" in body and b"/api/v1/events?topics=" in body
