import pytest

from bloodbank.tests.factories import BloodRequestFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/admin/bloodbank/bloodbank/",
        "/admin/bloodbank/stocklot/",
        "/admin/bloodbank/stocklot/?blood_group__exact=A%2B&component__exact=plasma&status__exact=available",
        "/admin/bloodbank/stocklot/?expiry=expired",
        "/admin/bloodbank/stocklot/?expiry=7days",
        "/admin/bloodbank/stocklot/add/",
        "/admin/bloodbank/bloodrequest/",
        "/admin/bloodbank/bloodrequest/?status__exact=pending",
        "/admin/bloodbank/donation/",
    ],
)
def test_admin_pages_render(client, admin_user, bank, lot, path):
    lot(bank, "A+", 3)
    BloodRequestFactory(blood_bank=bank)
    client.force_login(admin_user)
    assert client.get(path).status_code == 200


def test_admin_request_detail_shows_allocations_read_only(client, admin_user, bank):
    request = BloodRequestFactory(blood_bank=bank)
    client.force_login(admin_user)
    response = client.get(f"/admin/bloodbank/bloodrequest/{request.pk}/change/")
    assert response.status_code == 200
    assert client.post(f"/admin/bloodbank/bloodrequest/{request.pk}/delete/").status_code == 403
