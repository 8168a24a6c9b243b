"""A filter's date-time with a UTC offset beyond what PostgreSQL holds (+-15:59) is a 400 naming the
parameter on every list path alike: the JSON page read from kept compiled rows (bound parameters), the
generic list and the CSV export (the value as text); 15:59 itself is answered."""

import pytest

from conftest import client_for

pytestmark = pytest.mark.django_db

CASES = [  # (list, filter, whether it exports CSV)
    ("/api/v1/slots", "from", False),
    ("/api/v1/appointments", "to", True),
    ("/api/v1/emergencies", "created_before", True),
    ("/api/v1/activity", "from", True),
]


@pytest.mark.parametrize(("path", "name", "exports"), CASES)
def test_an_offset_beyond_15_59_is_refused_on_every_path(admin_user, path, name, exports):
    client = client_for(admin_user)
    for offset in ("+16:15", "-23:00"):
        value = f"2026-03-10T09:00:00{offset}"
        for extra in ({}, {"page_size": "5"}, {"format": "csv"} if exports else {"ordering": "-id"}):
            response = client.get(path, {name: value, **extra})
            assert response.status_code == 400, (path, extra, response.content[:200])
            error = response.json()["errors"][0]
            assert error["attr"] == name and error["detail"] == "Give a UTC offset between -15:59 and +15:59."
    for offset in ("+15:59", "-15:59", "Z"):
        response = client.get(path, {name: f"2026-03-10T09:00:00{offset}"})
        assert response.status_code == 200, (path, offset, response.content[:200])
