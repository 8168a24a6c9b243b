"""User list filters: ids are integers (API.md section 1), anything else is a 400 naming the filter."""

import pytest

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["1.5", "0", "-3", "abc", "9223372036854775808"])
def test_user_list_rejects_hospital_id_that_is_not_an_id_with_400(admin_client, hospital, value):
    UserFactory(role="ambulance_driver", hospital=hospital)
    response = admin_client.get("/api/v1/users/", {"hospital_id": value})
    assert response.status_code == 400
    assert [error["attr"] for error in response.json()["errors"]] == ["hospital_id"]


def test_user_list_filters_by_integer_hospital_id(admin_client, hospital, other_hospital):
    driver = UserFactory(role="ambulance_driver", hospital=hospital)
    UserFactory(role="ambulance_driver", hospital=other_hospital)
    response = admin_client.get("/api/v1/users/", {"hospital_id": str(hospital.pk)})
    assert response.status_code == 200
    assert [user["id"] for user in response.json()["results"]] == [driver.pk]
